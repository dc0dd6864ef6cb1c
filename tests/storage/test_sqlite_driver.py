"""The SQLite adapter with one trip to aiosqlite's thread per statement (`sqlite_driver`):
what SQLAlchemy reads from a DB-API cursor comes back right, and the trips are counted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.storage._dialect import read
from idlbot.storage.db import create_engine
from idlbot.storage.sqlite_driver import OneTripDBAPI


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER)"))
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_sqlite_engines_use_it(engine: AsyncEngine) -> None:
    assert isinstance(engine.dialect.dbapi, OneTripDBAPI)
    assert engine.dialect.driver == "aiosqlite"  # the URL and the dialect are unchanged


async def test_a_read_is_three_trips_and_a_write_four(engine: AsyncEngine, trips: list[str]) -> None:
    """BEGIN, the SELECT, COMMIT: 3. SQLAlchemy's own cursor took 9 (three or four per
    statement: open a cursor, execute, fetch, close) and 11 for the write."""
    async with read(engine) as conn:  # the connection is opened first: its set-up is not counted
        pass
    trips.clear()
    async with read(engine) as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
    assert len(trips) == 3, trips
    trips.clear()
    async with engine.begin() as conn:  # BEGIN IMMEDIATE, two INSERTs, COMMIT
        await conn.execute(text("INSERT INTO t (name, n) VALUES ('a', 1)"))
        await conn.execute(text("INSERT INTO t (name, n) VALUES ('b', 2)"))
    assert len(trips) == 4, trips


async def test_rows_rowcount_lastrowid_and_description(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await conn.execute(text("INSERT INTO t (name, n) VALUES ('a', 1)"))
        assert first.lastrowid == 1
        await conn.execute(
            text("INSERT INTO t (name, n) VALUES (:name, :n)"),
            [{"name": f"s{i}", "n": i} for i in range(500)],
        )
        changed = await conn.execute(text("UPDATE t SET n = n + 1 WHERE n < 10"))
        assert changed.rowcount == 11  # 'a' and s0..s9
        back = await conn.execute(text("INSERT INTO t (name, n) VALUES ('r', 7) RETURNING id, n"))
        assert back.one() == (502, 7)
    async with read(engine) as conn:
        result = await conn.execute(text("SELECT name, n FROM t ORDER BY id"))
        assert list(result.keys()) == ["name", "n"]
        rows = result.all()
        assert len(rows) == 502 and rows[0] == ("a", 2) and rows[-1] == ("r", 7)
        one = await conn.execute(text("SELECT name FROM t WHERE n = 7 ORDER BY id"))
        assert one.fetchone() == ("s6",) and one.fetchmany(5) == [("r",)]
        empty = await conn.execute(text("SELECT name FROM t WHERE n < 0"))
        assert list(empty.keys()) == ["name"] and empty.all() == []


async def test_an_error_is_sqlalchemys_and_the_connection_goes_on(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (name, n) VALUES ('a', 1)"))
    with pytest.raises(IntegrityError, match="UNIQUE"):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (name, n) VALUES ('b', 1)"))
            await conn.execute(text("INSERT INTO t (name, n) VALUES ('a', 2)"))
    async with read(engine) as conn:  # rolled back as a whole; the pooled connection still works
        assert (await conn.execute(text("SELECT name FROM t"))).scalars().all() == ["a"]


async def test_a_streamed_read_still_fetches_in_parts(engine: AsyncEngine) -> None:
    """Server-side cursors (the bulk ledger read) keep SQLAlchemy's own, which fetches as
    it goes."""
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO t (name, n) VALUES (:name, :n)"),
            [{"name": f"s{i}", "n": i} for i in range(250)],
        )
    async with read(engine) as conn:
        parts = [len(p) async for p in (await conn.stream(text("SELECT id FROM t"))).partitions(100)]
    assert parts == [100, 100, 50]


async def test_a_rollback_after_the_driver_closed_is_nothing(tmp_path: Path) -> None:
    """As SQLAlchemy's own: the pool may roll back a connection whose driver already
    closed it (after an error); that must not raise."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    try:
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).dbapi_connection
            assert raw is not None
            await conn.run_sync(lambda _: raw.close())
            await conn.run_sync(lambda _: raw.rollback())
            await conn.invalidate()
    finally:
        await engine.dispose()


async def test_a_cursors_arraysize_is_set_and_kept(engine: AsyncEngine) -> None:
    """The DB-API's `arraysize` (what `fetchmany()` fetches by default) is the cursor's and
    outlives a statement, as with sqlite3."""
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).dbapi_connection
        assert raw is not None

        def fetch(_: Any) -> tuple[list[Any], int]:
            cursor = raw.cursor()
            cursor.arraysize = 3
            cursor.execute("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4")
            return list(cursor.fetchmany()), cursor.arraysize

        assert await conn.run_sync(fetch) == ([(1,), (2,), (3,)], 3)
