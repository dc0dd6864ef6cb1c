"""Shared plumbing for the repositories: transactions (`transaction` to write, `read` to
only read) and INSERT ... ON CONFLICT.

Reads never wait for writes: on SQLite every transaction used to take the
one in-process writer lock and `BEGIN IMMEDIATE`, so `/idl status` queued behind every
outbox update and the bot used 73-94 % of a core under load. In WAL mode a reader needs
neither: `read` opens a plain (deferred) transaction, which reads one committed snapshot
from its first SELECT to its end, never a half-written state, while a writer commits
beside it. Only `transaction` queues on the writer lock.

A plain "SELECT then INSERT" lets two processes both see "absent" and both
insert (one then dies on the unique constraint, mid-transaction). ON CONFLICT
makes the database decide atomically, which is what "handled once" and
"enqueued once" need. PostgreSQL and SQLite spell it the same way but SQLAlchemy
exposes it per dialect, so pick the right construct here.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql import Executable

from idlbot.storage.changes import ONE_READ, changes_of, take_written
from idlbot.storage.models_changes import LedgerVersionRow

Database = AsyncEngine | async_sessionmaker[AsyncSession]
"""What a repository is built from: the app passes its session factory, tests an engine."""


_sqlite_writers: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


def _engine_of(db: Database) -> AsyncEngine | None:
    if isinstance(db, AsyncEngine):
        return db
    bind = db.kw.get("bind")
    return bind if isinstance(bind, AsyncEngine) else None


def _writer_lock(db: Database) -> asyncio.Lock | None:
    """SQLite has one writer at a time (every transaction is BEGIN IMMEDIATE). Inside one
    process, queue the writers on an asyncio lock: waiting in SQLite's busy handler sleeps
    in growing steps while the lock is held, and 16 concurrent outbox deliveries then spend
    most of their time asleep (a DM fan-out ran at ~50/s). Another process's lock is
    waited for by `db._begin_immediate`."""
    engine = _engine_of(db)
    if engine is None or engine.dialect.name != "sqlite":
        return None
    sync = engine.sync_engine
    lock = _sqlite_writers.get(sync)
    if lock is None:
        lock = _sqlite_writers[sync] = asyncio.Lock()
    return lock


@asynccontextmanager
async def transaction(db: Database) -> AsyncIterator[AsyncConnection]:
    """One short transaction, committed on success, rolled back on error.

    Repositories run Core statements on the connection, not ORM operations on a
    session: rows never leave the repository, so there is no identity map to keep.
    """
    lock = _writer_lock(db)
    async with lock if lock is not None else contextlib.nullcontext():
        if isinstance(db, AsyncEngine):
            async with db.begin() as conn:
                take_written(conn)  # a mark left by a transaction that rolled back
                yield conn
                wrote = await _raise_version(conn)
        else:
            async with db() as session, session.begin():
                conn = await session.connection()
                take_written(conn)
                yield conn
                wrote = await _raise_version(conn)
    if wrote:  # committed: this process's copies are stale from now on (`changes.py`)
        changes_of(_engine_of(db)).bump()


async def _raise_version(conn: AsyncConnection) -> bool:
    """Before the commit of a transaction that wrote a watched table: raise
    `ledger_version`, so other processes' copies go stale too (`storage/changes.py`)."""
    if not take_written(conn):
        return False
    table = LedgerVersionRow.__table__
    stmt = insert_for(conn, table).values(id=1, n=1)
    await conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={"n": table.c.n + 1}))
    return True


READ_ONLY = "idlbot_read_only"
"""Execution option marking a connection whose transaction only reads (see `read`); the
SQLite begin hook (`db._sqlite_on_begin`) then issues a deferred BEGIN."""


@asynccontextmanager
async def read(db: Database) -> AsyncIterator[AsyncConnection]:
    """One short transaction that only reads: no writer lock, no `BEGIN IMMEDIATE` (see the
    module doc). A statement that writes in it would take SQLite's lock mid-transaction,
    so repositories use it only for SELECTs. Ended by a rollback: there is nothing to commit.
    """
    engine = _engine_of(db)
    if engine is None:  # a session factory bound to something else: the general path
        async with transaction(db) as conn:
            yield conn
        return
    async with engine.connect() as conn:
        marked = await conn.execution_options(**{READ_ONLY: True})
        async with marked.begin():
            yield marked


async def read_rows(
    db: Database, statement: Executable, params: dict[str, Any] | None = None
) -> Sequence[Any]:
    """The rows of one SELECT, read as `read` does but with no transaction around it on
    SQLite (`changes.ONE_READ`): one statement reads one committed snapshot by itself, and
    the BEGIN and the ROLLBACK were two of its three trips to the driver's thread."""
    engine = _engine_of(db)
    if engine is None:
        async with read(db) as conn:
            return (await conn.execute(statement, params)).all()
    async with engine.connect() as conn:
        one = await conn.execution_options(**{ONE_READ: True, READ_ONLY: True})
        return (await one.execute(statement, params)).all()


def insert_for(conn: AsyncConnection, table: Any) -> postgresql.Insert | sqlite.Insert:
    return insert_in(conn.dialect.name, table)


def insert_in(name: str, table: Any) -> postgresql.Insert | sqlite.Insert:
    """The INSERT of dialect `name` (for a statement built once per dialect and cached)."""
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"idlbot storage supports sqlite and postgresql, not {name}")
