"""SqlDatabaseProbe on SQLite and PostgreSQL, and BotHealth built from the three probes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.services.health import BotHealth
from idlbot.storage.db import create_engine, head_revision
from idlbot.storage.health import SqlDatabaseProbe
from idlbot.storage.outbox import SqlOutbox

T0 = datetime(2018, 10, 22, 9, 0, tzinfo=UTC)


@dataclass
class FakeWebsocket:
    state: str = "connected"
    connected: bool = True
    reconnects: int = 2


async def test_probe_reads_the_revision(engine: AsyncEngine) -> None:
    probe = SqlDatabaseProbe(engine)
    assert await probe.revision() == head_revision() == probe.head()


async def test_probe_on_an_unmigrated_database(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        assert await SqlDatabaseProbe(engine).revision() is None
    finally:
        await engine.dispose()


async def test_snapshot_from_the_probes(engine: AsyncEngine) -> None:
    outbox = SqlOutbox(engine)
    await outbox.enqueue(key="k1", message="hello", now=T0, channel_id="c" * 26)
    health = BotHealth(database=SqlDatabaseProbe(engine), outbox=outbox, started_at=T0)
    before = await health.snapshot()
    assert (before.websocket_state, before.websocket_connected) == ("not started", False)
    assert before.degraded
    health.websocket = FakeWebsocket()
    snap = await health.snapshot()
    assert snap.database_ok and not snap.degraded
    assert snap.schema_revision == snap.schema_head == head_revision()
    assert (snap.outbox_backlog, snap.oldest_pending, snap.reconnects) == (1, T0, 2)


async def test_a_hanging_database_is_a_reading_not_a_hang(engine: AsyncEngine) -> None:
    class HangingProbe(SqlDatabaseProbe):
        async def revision(self) -> str | None:
            await asyncio.Event().wait()  # a connection pool that never hands out a connection
            return None

    health = BotHealth(database=HangingProbe(engine), outbox=SqlOutbox(engine), started_at=T0)
    health.DB_TIMEOUT = 0.05
    snap = await health.snapshot()
    assert not snap.database_ok and snap.degraded
    assert snap.schema_revision is None and snap.schema_head == head_revision()
