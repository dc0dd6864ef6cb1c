"""Reads never wait for writes (issue 13): while a write transaction is open, a repository
read completes at once and sees the last committed state, never the half-written one.

On SQLite this needs WAL and a read that takes neither the in-process writer lock nor
`BEGIN IMMEDIATE`; before, every read queued behind the open writer. PostgreSQL (MVCC)
behaves the same way, so the test runs on both.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text, update

from idlbot.storage._dialect import transaction
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.models import OutboxRow
from idlbot.storage.outbox import SqlOutbox

NOW = datetime(2018, 10, 22, 9, 0, tzinfo=UTC)
READ_BOUND = 2.0  # seconds; the old code waited until the writer committed (never, here)


async def test_a_read_while_a_write_is_open_does_not_wait_and_sees_committed_state(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        outbox = SqlOutbox(sessionmaker(engine))  # built as the app builds it
        await outbox.enqueue(key="k1", message="committed", now=NOW, channel_id="c1")
        writing, release = asyncio.Event(), asyncio.Event()

        async def writer() -> None:
            async with transaction(sessionmaker(engine)) as conn:
                await conn.execute(update(OutboxRow).where(OutboxRow.key == "k1").values(message="half"))
                await conn.execute(
                    OutboxRow.__table__.insert().values(  # type: ignore[attr-defined]
                        key="k2",
                        message="uncommitted",
                        state="pending",
                        attempts=0,
                        created_at=NOW,
                        next_attempt_at=NOW,
                        channel_id="c1",
                    )
                )
                writing.set()
                await release.wait()

        held = asyncio.create_task(writer())
        await asyncio.wait_for(writing.wait(), 5)
        try:
            item = await asyncio.wait_for(outbox.get("k1"), READ_BOUND)
            backlog, _ = await asyncio.wait_for(outbox.backlog(), READ_BOUND)
            absent = await asyncio.wait_for(outbox.get("k2"), READ_BOUND)
        finally:
            release.set()
            await held
        assert item is not None and item.message == "committed"
        assert backlog == 1 and absent is None
        after = await outbox.get("k1")
        assert after is not None and after.message == "half"  # the write committed, as normal
    finally:
        await engine.dispose()


async def test_sqlite_database_is_in_wal_mode(tmp_path: object) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/wal.db")
    try:
        async with engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            timeout = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
        assert str(mode).lower() == "wal" and int(timeout) > 0
    finally:
        await engine.dispose()
