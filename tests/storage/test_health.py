"""SqlDatabaseProbe on SQLite and PostgreSQL, and BotHealth built from the three probes."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.services.health import BotHealth
from idlbot.storage.db import create_engine, head_revision, sessionmaker, upgrade
from idlbot.storage.health import SqlDatabaseProbe, probe_engine
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
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    engine = create_engine(url)
    try:
        probe = SqlDatabaseProbe(engine)
        assert await probe.revision() is None
        assert await probe.revision() is None  # no table yet: still looked up each time
        await upgrade(url)  # `idlbot migrate` while the bot runs
        assert await probe.revision() == head_revision()
        async with engine.begin() as conn:  # the stamp moves: read, not remembered
            await conn.execute(text("UPDATE alembic_version SET version_num = 'elsewhere'"))
        assert await probe.revision() == "elsewhere"
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


class CountingProbe(SqlDatabaseProbe):
    """Counts round trips, and holds each one until `release` is set."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.calls = 0
        self.release = asyncio.Event()
        self.three_calls = asyncio.Event()

    async def revision(self) -> str | None:
        self.calls += 1
        if self.calls >= 3:
            self.three_calls.set()
        await self.release.wait()
        return await super().revision()


async def test_polls_share_one_reading_and_answer_from_it_while_fresh(engine: AsyncEngine) -> None:
    now = [100.0]
    probe = CountingProbe(engine)
    health = BotHealth(database=probe, outbox=SqlOutbox(engine), started_at=T0, monotonic=lambda: now[0])
    probe.release.set()
    polls = [asyncio.ensure_future(health.snapshot()) for _ in range(20)]
    snaps = await asyncio.gather(*polls)
    assert probe.calls == 1 and all(s.database_ok for s in snaps)
    now[0] += health.FRESH_FOR / 2
    await health.snapshot()
    assert probe.calls == 1  # still fresh
    now[0] += health.FRESH_FOR
    assert (await health.snapshot()).database_ok  # answered from the last reading at once
    assert probe.calls == 1
    await health.settled()  # a new one started for the next poll, and finished (waited for
    # here: a poll while it is in flight shares it, so it must be over for the next check)
    assert probe.calls == 2
    now[0] += health.MAX_AGE
    assert (await health.snapshot()).database_ok  # too old to answer from: waits for a new one
    assert probe.calls == 3


async def test_a_poll_that_hangs_up_does_not_cancel_the_shared_reading(engine: AsyncEngine) -> None:
    probe = CountingProbe(engine)
    health = BotHealth(database=probe, outbox=SqlOutbox(engine), started_at=T0)
    first = asyncio.ensure_future(health.snapshot())
    second = asyncio.ensure_future(health.snapshot())
    await asyncio.sleep(0)
    first.cancel()  # the client of the first poll went away
    probe.release.set()
    assert (await second).database_ok and probe.calls == 1


async def test_the_probe_engine_reads_beside_a_writer_and_a_full_pool(db_url: str) -> None:
    """The bot's engine has every connection taken and one holds the write lock: the
    probe's own engine still reads the revision and the outbox within its timeout."""
    main = create_engine(db_url, pool_size=1, max_overflow=0, pool_timeout=30)
    own = probe_engine(db_url)
    try:
        async with main.connect() as busy:
            await busy.begin()
            await busy.exec_driver_sql("UPDATE outbox SET attempts = attempts WHERE 1 = 0")
            health = BotHealth(
                database=SqlDatabaseProbe(own), outbox=SqlOutbox(sessionmaker(own)), started_at=T0
            )
            snap = await health.snapshot()
            assert snap.database_ok and snap.schema_revision == head_revision()
            assert snap.outbox_backlog == 0
            await busy.rollback()
    finally:
        await own.dispose()
        await main.dispose()


async def test_run_keeps_the_reading_fresh_and_stops_cleanly(engine: AsyncEngine) -> None:
    probe = CountingProbe(engine)
    probe.release.set()
    health = BotHealth(database=probe, outbox=SqlOutbox(engine), started_at=T0)
    health.FRESH_FOR = 0.01
    runner = asyncio.ensure_future(health.run())
    try:
        await asyncio.wait_for(probe.three_calls.wait(), 10)
        calls = probe.calls
        assert (await health.snapshot()).database_ok
        assert probe.calls - calls <= 1  # the poll answered from the background reading
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
