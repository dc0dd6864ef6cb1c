"""Engine setup and the UtcDateTime type."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.storage.db import (
    SQLITE_BUSY_SLICE_MS,
    SQLITE_POOL_MAX,
    create_engine,
    hurry,
    pool_options,
    sessionmaker,
)
from idlbot.storage.models import HandledPostRow


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            # a slice: the wait for another process's lock goes on in asyncio (next test)
            assert int((await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()) == SQLITE_BUSY_SLICE_MS
    finally:
        await engine.dispose()


async def test_sqlite_two_writers_wait_instead_of_failing(tmp_path: Path) -> None:
    """A write transaction that read first must not die with "database is locked"."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    engines = [create_engine(url), create_engine(url)]
    try:
        async with engines[0].begin() as conn:
            await conn.execute(text("CREATE TABLE n (v INTEGER)"))
            await conn.execute(text("INSERT INTO n VALUES (0)"))

        async def bump(engine: AsyncEngine) -> None:
            for _ in range(20):
                async with engine.begin() as conn:
                    v = (await conn.execute(text("SELECT v FROM n"))).scalar_one()
                    await asyncio.sleep(0)
                    await conn.execute(text("UPDATE n SET v = :v"), {"v": v + 1})

        await asyncio.gather(*(bump(engines[n % 2]) for n in range(4)))
        async with engines[0].connect() as conn:
            assert (await conn.execute(text("SELECT v FROM n"))).scalar_one() == 80  # no lost update
    finally:
        for e in engines:
            await e.dispose()


async def test_a_write_waits_for_another_process_in_asyncio_and_a_cancel_ends_the_wait(
    tmp_path: Path,
) -> None:
    """Another process's write lock: a transaction waits for it well past SQLite's own busy
    slice, and gets it once it is free; cancelled meanwhile, it ends at once and leaves no
    lock behind; once the engine is told to hurry (a stop), a wait gives up within 0.1 s."""
    path = tmp_path / "lock.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE n (v INTEGER)"))

        async def write(v: int) -> None:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO n VALUES (:v)"), {"v": v})

        holder.execute("BEGIN IMMEDIATE")
        first = asyncio.ensure_future(write(1))
        done, _ = await asyncio.wait({first}, timeout=SQLITE_BUSY_SLICE_MS / 1000 * 6)
        assert not done  # still waiting, not "database is locked" after one slice
        holder.execute("COMMIT")
        await asyncio.wait_for(first, 5)

        holder.execute("BEGIN IMMEDIATE")
        second = asyncio.ensure_future(write(2))
        await asyncio.wait({second}, timeout=SQLITE_BUSY_SLICE_MS / 1000 * 3)
        second.cancel()
        await asyncio.wait_for(asyncio.gather(second, return_exceptions=True), 1.0)
        assert second.cancelled()
        holder.execute("COMMIT")
        await asyncio.wait_for(write(3), 5)  # no lock left behind by the cancelled wait

        holder.execute("BEGIN IMMEDIATE")
        third = asyncio.ensure_future(write(4))
        await asyncio.wait({third}, timeout=SQLITE_BUSY_SLICE_MS / 1000 * 3)
        hurry(engine)
        with pytest.raises(OperationalError, match="database is locked"):
            await asyncio.wait_for(third, 1.0)
        holder.execute("COMMIT")
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT v FROM n ORDER BY v"))).scalars().all() == [1, 3]
    finally:
        holder.close()
        await engine.dispose()


async def test_utc_roundtrip_through_orm(engine: AsyncEngine) -> None:
    plus5 = timezone(timedelta(hours=5))
    when = datetime(2024, 3, 31, 6, 30, 15, 123456, tzinfo=plus5)
    async with sessionmaker(engine)() as session, session.begin():
        session.add(HandledPostRow(post_id="p", channel_id="c", handled_at=when))
    async with sessionmaker(engine)() as session:
        row = await session.get(HandledPostRow, "p")
    assert row is not None
    assert row.handled_at == when
    assert row.handled_at.tzinfo is UTC
    assert row.handled_at.hour == 1


async def test_the_pool_is_sized_from_the_config(tmp_path: Path) -> None:
    """`[database] pool_size`/`max_overflow` reach the engine (64 concurrent commands used to
    queue for SQLAlchemy's default of 5 + 10 connections); SQLite gets at most 5 (each is a
    thread, and more only cost memory), an in-memory SQLite none."""
    cases = {
        "postgresql+asyncpg://u@127.0.0.1:9/x": (12, 8),
        f"sqlite+aiosqlite:///{tmp_path}/p.db": (SQLITE_POOL_MAX, 0),
    }
    for url, (size, overflow) in cases.items():
        engine = create_engine(url, **pool_options(url, 12, 8))
        try:
            assert engine.pool.size() == size  # type: ignore[attr-defined]
            assert engine.pool._max_overflow == overflow  # type: ignore[attr-defined]
        finally:
            await engine.dispose()
    assert pool_options("sqlite+aiosqlite://", 12, 8) == {}
