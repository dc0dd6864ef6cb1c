"""Shared plumbing for the repositories: transactions and INSERT ... ON CONFLICT.

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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

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
    most of their time asleep (a DM fan-out ran at ~50/s). Other processes still meet
    busy_timeout, as before."""
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
                yield conn
        else:
            async with db() as session, session.begin():
                yield await session.connection()


def insert_for(conn: AsyncConnection, table: Any) -> postgresql.Insert | sqlite.Insert:
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"idlbot storage supports sqlite and postgresql, not {name}")
