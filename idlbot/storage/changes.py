"""In-memory copies of what `/idl status`, `/idl deadlines` and overviews read, and how
they stay true.

Why copies: any read through SQLAlchemy async costs 0.5-1 ms of CPU (the benchmark's
`select` floor: one indexed SELECT, 6-10x a bare aiohttp handler), and `status` and
`deadlines` read on every call. Students ask far more often than the ledger changes (a
hand-in, a staff record, a roster edit), so one process's copy of a student's ledger or
roster entry answers many asks.

How a copy stays true (`Changes`, one per engine, and `ReadCache`):
- `WATCHED` names the tables a ledger or a roster entry is built from; a test checks
  that the ledger's statement reads no other.
- **This process:** an engine hook (`note_write`) marks a connection that ran an INSERT,
  UPDATE or DELETE on a watched table (a write whose table it cannot tell counts too).
  `_dialect.transaction` then raises `ledger_version.n` inside that transaction and,
  once it committed, `Changes.epoch`, before the writer's next `await`: no later read of
  this process gets a copy older than the write.
- **Other processes** (replicas, `idlbot roster import`): `Changes.watch` reads
  `ledger_version.n` every `POLL` seconds; a new value raises the epoch. Their writes show
  here within `POLL` plus one read.
- A copy is kept only if the epoch did not move while it was read, and used only while
  the epoch is what it was then.
- Copies are used only while the watch is live (it read the version less than `STALE`
  seconds ago). Without a running watch (the CLI, most tests) or while the database does
  not answer it, every read goes to the database as if there were no copies.

The copies hold frozen values only (`StudentLedger`, `Student`, tuples of them); on time
vs late is decided when the ledger is read from its rows with the deadlines of the config,
which a process never changes while it runs. What decides DMs (early warnings, digest,
blog nudges) reads the rows instead (`SqlLedger.fresh`): there, up to one poll of another
process's write must not be missed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Connection, ExecutionContext
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from idlbot.storage.models_changes import LedgerVersionRow

log = logging.getLogger(__name__)

WATCHED = frozenset(
    {"students", "hand_ins", "overrides", "presentations", "wiki_posts", "group_papers", "team_presentations"}
)
DIRTY = "idlbot_ledger_written"
"""Key in a connection's `info`: its transaction wrote a watched table."""

POLL = 0.25
"""Seconds between two reads of `ledger_version`: how late another process's write shows."""

STALE = 2.0
"""Seconds after the watch's last good read at which copies stop being used."""

ONE_READ = "idlbot_one_read"
"""Execution option for a connection that runs one SELECT and nothing else: the SQLite
begin hook (`db._sqlite_on_begin`) then issues no BEGIN at all. One statement reads one
committed snapshot by itself, so it needs no transaction, and it never waits for a writer
(the watch's read took `BEGIN IMMEDIATE`, the write lock, four times a second)."""

_WRITES = ("INSERT", "UPDATE", "DELETE")

_T = LedgerVersionRow.__table__
_READ_VERSION = select(_T.c.n).where(_T.c.id == 1)
"""The watch's one statement, built once: building it from the ORM columns on every poll
was a quarter of the poll's CPU on the event loop (4 polls a second)."""


def note_write(
    conn: Connection,
    _cursor: Any,
    statement: str,
    _parameters: Any,
    context: ExecutionContext | None,
    _executemany: bool,
) -> None:
    """`after_cursor_execute` hook: mark the connection when the statement wrote a watched
    table (or a table it cannot tell, such as textual SQL)."""
    compiled = getattr(context, "compiled", None)
    if compiled is None:
        if statement.lstrip()[:6].upper() in _WRITES:
            conn.info[DIRTY] = True
        return
    if not any(getattr(context, kind, False) for kind in ("isinsert", "isupdate", "isdelete")):
        return
    table = getattr(getattr(compiled, "statement", None), "table", None)
    name = getattr(table, "name", None)
    if name is None or name in WATCHED:
        conn.info[DIRTY] = True


def take_written(conn: AsyncConnection) -> bool:
    """Whether the transaction on `conn` wrote a watched table since the last call (which
    clears the mark: the connection goes back to the pool)."""
    return bool(conn.sync_connection.info.pop(DIRTY, False)) if conn.sync_connection else False


class Changes:
    """The epoch of one engine's copies: it moves whenever what they copy may have changed."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.epoch = 0
        self._seen: int | None = None
        self._good_at: float | None = None
        self._monotonic = monotonic

    def bump(self) -> None:
        self.epoch += 1

    @property
    def live(self) -> bool:
        return self._good_at is not None and self._monotonic() - self._good_at < STALE

    async def poll_once(self, engine: AsyncEngine) -> None:
        """Read `ledger_version` once; a value not seen before moves the epoch. A failed read
        stops the copies being used (and is raised)."""
        try:
            async with engine.connect() as conn:
                one = await conn.execution_options(**{ONE_READ: True})
                n = (await one.execute(_READ_VERSION)).scalar()
        except Exception:
            self._good_at = None
            raise
        if n != self._seen:
            self._seen = n
            self.bump()
        self._good_at = self._monotonic()

    async def watch(self, engine: AsyncEngine, *, interval: float = POLL) -> None:
        """Poll until cancelled; a failing database is logged once per outage and retried."""
        failing = False
        while True:
            try:
                await self.poll_once(engine)
                if failing:
                    log.info("ledger version readable again; read copies back in use")
                failing = False
            except Exception as err:  # noqa: BLE001 - an outage: no copies until it reads again
                if not failing:
                    log.warning("ledger version unreadable (%s); reading the database on every ask", err)
                failing = True
            await asyncio.sleep(interval)


_changes: weakref.WeakKeyDictionary[Any, Changes] = weakref.WeakKeyDictionary()


def changes_of(engine: AsyncEngine | None) -> Changes:
    """The one `Changes` of this engine (keyed by its sync engine, as the SQLite writer
    lock is); a fresh, never-live one for a database that is not an engine."""
    if engine is None:
        return Changes()
    sync = engine.sync_engine
    found = _changes.get(sync)
    if found is None:
        found = _changes[sync] = Changes()
    return found


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ReadCache(Generic[K, V]):
    """Copies of frozen values read from the database, true as of the engine's epoch."""

    def __init__(self, changes: Changes, *, limit: int = 8192) -> None:
        self._changes = changes
        self._limit = limit
        self._entries: dict[K, tuple[int, V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        changes = self._changes
        if not changes.live:
            return await load()
        epoch = changes.epoch
        hit = self._entries.get(key)
        if hit is not None and hit[0] == epoch:
            return hit[1]
        value = await load()
        if changes.epoch == epoch:  # nothing was written while it was read
            if len(self._entries) >= self._limit:
                self._entries.clear()
            self._entries[key] = (epoch, value)
        return value
