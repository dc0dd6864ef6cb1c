"""Engines, sessions and schema management (alembic driven from code).

Alembic is configured in code rather than from an ``alembic.ini`` so that
``idlbot migrate`` works from a wheel install, where there is no ini file and the
scripts live inside the package as ``idlbot.migrations``.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only

from idlbot.storage import reachable, revisions
from idlbot.storage._dialect import READ_ONLY
from idlbot.storage.changes import ONE_READ, note_write

__all__ = [
    "SchemaOutdated",
    "alembic_config",
    "create_engine",
    "current_revision",
    "downgrade",
    "downgrade_sync",
    "ensure_up_to_date",
    "head_revision",
    "hurry",
    "pool_options",
    "run_blocking",
    "sessionmaker",
    "upgrade",
    "upgrade_sync",
]

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite write transaction waits for the write lock another process holds (the
bot's own writers queue on an asyncio lock first, `_dialect.transaction`)."""

SQLITE_BUSY_SLICE_MS = 50
"""SQLite's own busy timeout: one attempt at the lock blocks the driver's thread this long
at most; `_begin_immediate` tries again, waiting in asyncio, until the timeout above."""

SQLITE_STOP_BUSY_TIMEOUT_MS = 100
"""The wait for the write lock once the bot is stopping (`hurry`)."""

_hurried: weakref.WeakSet[Engine] = weakref.WeakSet()


class SchemaOutdated(RuntimeError):
    """The database is not at the revision this code was written for.

    Starting anyway would fail later, mid-operation, on a missing table or column;
    failing at startup with the fix in the message is kinder.
    """

    def __init__(self, current: str | None, head: str, *, known: bool = True) -> None:
        self.current = current
        self.head = head
        if not known:
            msg = (
                f"database schema is at revision {current!r}, which this version of idlbot does "
                f"not know (it needs {head!r}); was it migrated by a newer idlbot? Run that version, "
                "or restore the backup taken before the upgrade"
            )
        else:
            where = "empty (no schema)" if current is None else f"at revision {current!r}"
            msg = (
                f"database schema is {where}, this version of idlbot needs {head!r}; "
                "run `idlbot migrate --config PATH` to upgrade it"
            )
        super().__init__(msg)


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    """WAL + busy_timeout, and let SQLAlchemy (not the driver) start transactions.

    WAL lets readers proceed while one writer writes; busy_timeout makes a second
    writer wait instead of failing at once with "database is locked". Turning off
    the driver's own implicit BEGIN (``isolation_level = None``) lets
    :func:`_sqlite_on_begin` issue ``BEGIN IMMEDIATE`` for every transaction.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives a crash of the bot (kill -9), only the last
        # commits can be lost on a power cut, and the database never corrupts; FULL would
        # fsync every outbox state change, which capped DM fan-out at ~75/s.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SLICE_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    """Take the write lock when a writing transaction starts, not halfway through it.

    A deferred transaction that has read and then tries to write, after another
    connection committed, gets SQLITE_BUSY immediately: the busy handler is not
    consulted because waiting cannot help a stale snapshot. ``BEGIN IMMEDIATE``
    waits (`_begin_immediate`) for the lock up front, so the error cannot happen.
    A transaction opened by `_dialect.read` never writes, so it gets a plain deferred
    ``BEGIN``: in WAL mode it reads a committed snapshot beside the writer, unqueued.
    """
    options = conn.get_execution_options()
    if options.get(ONE_READ, False):
        return  # one SELECT: its own snapshot, no BEGIN (`changes.ONE_READ`)
    if options.get(READ_ONLY, False):
        conn.exec_driver_sql("BEGIN")
    else:
        _begin_immediate(conn)


def _begin_immediate(conn: Connection) -> None:
    """``BEGIN IMMEDIATE``, waiting up to `SQLITE_BUSY_TIMEOUT_MS` for a write lock that
    another process holds: in slices of SQLite's busy handler (`SQLITE_BUSY_SLICE_MS`)
    with asyncio sleeps between them, so the wait can be cancelled.

    Why not SQLite's busy timeout alone: a wait inside its busy handler blocks the
    driver's thread, and nothing can cut it short. A cancelled transaction's clean-up
    queued behind it, so a stop while `idlbot roster import` held the lock took 3 x 10 s,
    and a stop began during such a wait took 10 s. Runs inside SQLAlchemy's greenlet (every
    engine here is async), hence `await_only`."""
    started, delay = time.monotonic(), 0.01
    while True:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as err:
            budget = SQLITE_STOP_BUSY_TIMEOUT_MS if conn.engine in _hurried else SQLITE_BUSY_TIMEOUT_MS
            if not _locked(err) or time.monotonic() - started >= budget / 1000:
                raise
        await_only(asyncio.sleep(delay))
        delay = min(delay * 2, 0.1)


def _locked(err: OperationalError) -> bool:
    """SQLITE_BUSY, by its message ("database is locked"), the one thing every driver
    version reports the same way."""
    return "database is locked" in str(err.orig)


def hurry(engine: AsyncEngine) -> None:
    """From now on this engine's SQLite write transactions wait `SQLITE_STOP_BUSY_TIMEOUT_MS`
    at most for a write lock held by another process, waits under way included.

    Why: a stop writes three times (hand back the leases, save the re-sync cursors,
    release the claims). With another process holding the lock each waited the full
    timeout (a stop took over 30 s in CI). What a stop cannot write is safe to leave:
    the claims expire, the cursors re-sync, the leases lapse. Nothing on PostgreSQL."""
    _hurried.add(engine.sync_engine)


def create_engine(url: str, *, immediate: bool = True, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://`` URLs.

    ``immediate=False`` (SQLite only) leaves out ``BEGIN IMMEDIATE``: for an engine that
    only reads, like the health probe's, whose reads must not queue for the write lock."""
    if make_url(url).drivername == "sqlite+aiosqlite":
        # imported here: a PostgreSQL bot would load aiosqlite at start-up for nothing (4 ms)
        from idlbot.storage.sqlite_driver import one_trip_dbapi

        kwargs.setdefault("module", one_trip_dbapi())  # one trip to the driver's thread per statement
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "after_cursor_execute", note_write)  # see storage/changes.py
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        if immediate:
            event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


SQLITE_POOL_MAX = 5
"""SQLite connections at most: each is a thread of its own (aiosqlite) and one writer at a
time is all SQLite has. Under 64 clients (`benchmarks/runtime_probe.py`) 5 connections
served as many requests as 20 did, with 7 MB less resident memory."""


def pool_options(url: str, pool_size: int, max_overflow: int) -> dict[str, Any]:
    """Pool sizing for `create_engine` from `[database]`: as configured for PostgreSQL, at
    most `SQLITE_POOL_MAX` for SQLite, none for an in-memory SQLite database, whose one
    connection is the database (tests only)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            return {}
        return {"pool_size": min(pool_size, SQLITE_POOL_MAX), "max_overflow": 0}
    return {"pool_size": pool_size, "max_overflow": max_overflow}


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (no lazy reload on attribute access,
    which would need I/O outside an ``await`` and raises under asyncio)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """An alembic Config built in code: scripts from the installed package, the given URL.
    Alembic is imported here, not at the top: the running bot never needs it (see
    `revisions`), only `idlbot migrate` and the tests do."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(files("idlbot.migrations")))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    # '%' is interpolation syntax in alembic's ConfigParser; URLs may contain it.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    return revisions.head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision stamped in the database, or None for an unmigrated database."""
    async with engine.connect() as conn:
        return await conn.run_sync(revisions.current)


async def ensure_up_to_date(engine: AsyncEngine) -> None:
    """Raise :class:`SchemaOutdated` unless the database is exactly at head, and
    `DatabaseUnavailable` if it cannot be opened."""
    await reachable.check(engine)
    current = await current_revision(engine)
    head = head_revision()
    if current != head:
        raise SchemaOutdated(current, head, known=_known(current))


def _known(revision: str | None) -> bool:
    return revisions.known(revision)


async def _run_command(url: str, fn: Any, revision: str, course_one: str | None = None) -> None:
    """Run an alembic command on a connection we own (connection sharing).

    env.py sees ``config.attributes["connection"]`` and migrates on it directly
    instead of calling ``asyncio.run``, which would fail inside a running loop.
    All of it runs in one transaction, so a failing revision leaves nothing half done
    (PostgreSQL, and SQLite with our explicit BEGIN).
    """
    cfg = alembic_config(url)
    if course_one is not None:  # whose rows a single-course database's are (storage/courses.py)
        cfg.attributes["course_one"] = course_one
    engine = create_engine(url)
    try:
        await reachable.check(engine)
        current = await current_revision(engine)
        if not _known(current):  # alembic would say "Can't locate revision" with a traceback
            raise SchemaOutdated(current, head_revision(), known=False)

        def run(conn: Connection) -> None:
            cfg.attributes["connection"] = conn
            fn(cfg, revision)

        async with engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head", *, course_one: str | None = None) -> None:
    """Upgrade to `revision`; `course_one` is the course id given to the records of a
    database from before courses had ids (default `DEFAULT_COURSE_ID`)."""
    from alembic import command

    await _run_command(url, command.upgrade, revision, course_one)


async def downgrade(url: str, revision: str) -> None:
    from alembic import command

    await _run_command(url, command.downgrade, revision)


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even if this thread has a running loop.

    ``asyncio.run`` refuses to nest; in that case the coroutine runs on a fresh loop
    in a helper thread while the caller blocks (only for one-shot admin work).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="idlbot-migrate") as pool:
        return pool.submit(asyncio.run, coro).result()


def upgrade_sync(url: str, revision: str = "head") -> None:
    run_blocking(upgrade(url, revision))


def downgrade_sync(url: str, revision: str) -> None:
    run_blocking(downgrade(url, revision))
