"""SQLite through aiosqlite with one trip to the driver's thread per statement.

Why: aiosqlite runs every call of the DB-API in its own thread, and SQLAlchemy's adapter
makes three or four of them for each statement (open a cursor, execute, fetch a SELECT's
rows, close). Each trip is a queue put, a wake-up of that thread, a
`call_soon_threadsafe` back and one more turn of the event loop: 44 µs of the loop's CPU
on the benchmark machine for a trip that does nothing, about twice that in a real
transaction. The ledger watch's one-row read took 8 trips, every 0.25 s, and every
outbox row, delivery and inbound mark is a transaction or more. Here a statement is one
function run in the thread (cursor, execute, fetch every row, close), and only its
results come back: `description`, `rowcount`, `lastrowid` and the rows. BEGIN, COMMIT
and ROLLBACK are one trip each, as before, and the pool's ROLLBACK of a connection it takes
back is none when no transaction is open. A read is three trips (was nine), a write of two
rows four (was eleven).

Only the plain cursor changes. Server-side cursors (`AsyncConnection.stream`, the bulk
ledger read fetches in partitions) keep SQLAlchemy's, which fetches as it goes.

The adapter is a `module=` for `create_async_engine` (see `db.create_engine`): the URL,
the dialect and everything SQLAlchemy does above the DB-API stay as they are. What it
relies on: aiosqlite's `Connection._execute(fn, *args)` (runs `fn` in its thread and
awaits the result; SQLAlchemy's own adapter reaches into the same thread queue for
`isolation_level`), its `_conn` (the `sqlite3.Connection`, used in that thread) and
`_connection` (the same, or None once closed: the rollback reads its `in_transaction`
flag in the event loop's thread, as aiosqlite's own `in_transaction` does), and
SQLAlchemy 2.1's `AsyncAdapt_aiosqlite_*` classes. The whole suite runs on it.
"""

from __future__ import annotations

import collections
import sqlite3
from dataclasses import dataclass
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

__all__ = ["OneTripDBAPI", "one_trip_dbapi"]


@dataclass(slots=True)
class _Executed:
    """What the DB-API cursor held after a statement, read in the driver's thread, and
    its `arraysize` (which a caller may set, and the next statement keeps)."""

    description: Any
    rowcount: int
    lastrowid: int | None
    arraysize: int = 1


def _execute(
    aio: aiosqlite.Connection, operation: str, parameters: Any
) -> tuple[_Executed, list[Any] | None]:
    """In the driver's thread: the whole statement, and every row it returns."""
    cursor: sqlite3.Cursor = aio._conn.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else None
        return _Executed(cursor.description, cursor.rowcount, cursor.lastrowid), rows
    finally:
        cursor.close()


def _executemany(aio: aiosqlite.Connection, operation: str, seq: Any) -> _Executed:
    cursor: sqlite3.Cursor = aio._conn.cursor()
    try:
        cursor.executemany(operation, seq)
        return _Executed(cursor.description, cursor.rowcount, cursor.lastrowid)
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's cursor, whose `_cursor` is the last statement's `_Executed` instead of
    an aiosqlite cursor: nothing is open between statements, so closing is free."""

    __slots__ = ()

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = _Executed(None, -1, None)  # type: ignore[assignment]  # what SQLAlchemy reads
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            done, rows = await self._connection._execute(_execute, self._connection, operation, parameters)
        done.arraysize = self._cursor.arraysize
        self._cursor = done
        if rows is not None:
            self._rows = collections.deque(rows)
        return None

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            done = await self._connection._execute(
                _executemany, self._connection, operation, seq_of_parameters
            )
        done.arraysize = self._cursor.arraysize
        self._cursor = done
        return None

    async def _async_soft_close(self) -> None:
        return None  # no driver cursor stays open

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    _cursor_cls = OneTripCursor

    def rollback(self) -> None:
        """No trip when no transaction is open: the pool rolls back every connection it
        takes back, and a `read` has already committed (ending its snapshot). SQLite's
        ROLLBACK would be a no-op then. `in_transaction` is the sqlite3 connection's own
        flag, read here while no statement of this connection is running."""
        raw = self._connection._connection  # None once closed: SQLAlchemy's rollback skips it too
        if raw is not None and raw.in_transaction:
            super().rollback()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
