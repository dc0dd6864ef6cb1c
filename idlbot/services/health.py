"""The Health port: websocket, database, schema and outbox.

`/healthz` is polled by load balancers and monitors, and must answer quickly even when
the bot is busy; it once took 1.5 s (p50) under 64 concurrent slash clients and one poll
got a 503 because its database probe queued behind the commands for a connection.
So a snapshot is built from what the bot already holds:

* the websocket state, which the supervisor holds in memory (read on every call);
* the last database reading (reachable, schema revision, outbox backlog and last
  errors). `run()` takes one every `FRESH_FOR` seconds in the background, on the health
  check's own engine (`storage.health.probe_engine`: a dedicated connection, so the
  commands' pool cannot starve it), with its own timeout (`DB_TIMEOUT`).

A poll never waits for the database while the last reading is younger than `MAX_AGE`
(if it is older than `FRESH_FOR`, the poll starts a new reading for the next one). Only
a reading older than that (no `run()`, as in tests and the CLI, or the first poll) is
taken on the spot, bounded by `DB_TIMEOUT`. At most one reading is in flight: concurrent
polls share it, so a flood of polls costs the database nothing more. A timed-out
reading is a reading (database unreachable, degraded), never a hang.

Why not simply probe on each poll with a timeout: under load a probe takes a dozen
event-loop turns (checkout, begin, three queries, commit), each queued behind the
commands' callbacks, so the poll's latency follows the load; a reading taken in the
background costs the poll nothing.

Every reading comes through a port (`ports.health_probes`), so this service neither
knows the engine nor the websocket class, and a test can fake any of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from idlbot import __version__
from idlbot.ports.health import HealthSnapshot
from idlbot.ports.health_probes import DatabaseProbe, OutboxStats, WebsocketState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseReading:
    """What one database probe found."""

    ok: bool
    revision: str | None = None
    backlog: int = 0
    oldest: datetime | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)


UNREACHABLE = DatabaseReading(ok=False)


class BotHealth:
    DB_TIMEOUT = 3.0
    """Seconds for all database readings together: `/healthz` must answer even when the
    database hangs rather than refuses (a dead server, a locked SQLite file). Polls do
    not wait for a background reading, so this can be generous: at 1 s, a loop starved of
    CPU (load average 7 on 2 cores) let readings of a healthy database time out."""

    FRESH_FOR = 1.0
    """Seconds between background readings, and the age at which a poll asks for a new one."""

    MAX_AGE = 5.0
    """Seconds after which the last reading is too old to answer from (more than
    `FRESH_FOR` + `DB_TIMEOUT`: the background readings stopped): the poll waits for a
    new one, for at most `DB_TIMEOUT`."""

    def __init__(
        self,
        *,
        database: DatabaseProbe,
        outbox: OutboxStats,
        started_at: datetime,
        websocket: WebsocketState | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        replica: str = "",
    ) -> None:
        self._database_probe = database
        self._outbox = outbox
        self._started_at = started_at
        self._monotonic = monotonic
        self._reading: DatabaseReading | None = None
        self._read_at = 0.0
        self._inflight: asyncio.Future[DatabaseReading] | None = None
        self.probes = 0  # database readings taken (tests)
        self.websocket = websocket  # set by the app once the supervisor exists (after login)
        self.replica = replica
        self.leases: Callable[[], Sequence[str]] | None = None  # the leases held (set by the app)
        self.passes: Sequence[str] = ()  # the singleton passes, held here or elsewhere

    async def _read_database(self) -> DatabaseReading:
        revision = await self._database_probe.revision()
        backlog, oldest = await self._outbox.backlog()
        errors = await self._outbox.recent_errors(5)
        return DatabaseReading(True, revision, backlog, oldest, errors)

    async def _probe(self) -> DatabaseReading:
        self.probes += 1
        try:
            reading = await asyncio.wait_for(self._read_database(), self.DB_TIMEOUT)
        except Exception as err:  # noqa: BLE001 - an unreachable database is a reading, not a crash
            log.warning("health: database check failed: %s", type(err).__name__)
            reading = UNREACHABLE
        self._reading, self._read_at = reading, self._monotonic()
        return reading

    def _refresh(self) -> asyncio.Future[DatabaseReading]:
        """The reading in flight, or a new one."""
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(self._probe())
        return self._inflight

    async def database(self) -> DatabaseReading:
        """The last reading unless it is too old, else a new one (shared with other polls)."""
        age = self._monotonic() - self._read_at
        if self._reading is not None and age < self.MAX_AGE:
            if age >= self.FRESH_FOR:
                self._refresh()  # for the next poll; this one answers now
            return self._reading
        # shielded: a poll whose client hangs up must not cancel the reading the others share
        return await asyncio.shield(self._refresh())

    async def run(self) -> None:
        """Keep the reading fresh until cancelled (the bot runs this while it is up)."""
        try:
            while True:
                await asyncio.shield(self._refresh())
                await asyncio.sleep(self.FRESH_FOR)
        finally:  # at a stop: no reading may outlive the engine it reads from; let it finish
            # (it is bounded by DB_TIMEOUT) rather than cancel it mid-query
            await self.settled()

    async def settled(self) -> None:
        """Wait for the reading in flight, if any, to finish (a stop; tests)."""
        if self._inflight is not None and not self._inflight.done():
            await asyncio.wait({self._inflight})

    async def snapshot(self) -> HealthSnapshot:
        db = await self.database()
        ws = self.websocket
        return HealthSnapshot(
            websocket_state=ws.state if ws else "not started",
            websocket_connected=bool(ws and ws.connected),
            reconnects=ws.reconnects if ws else 0,
            database_ok=db.ok,
            schema_revision=db.revision,
            schema_head=self._database_probe.head(),
            outbox_backlog=db.backlog,
            oldest_pending=db.oldest,
            last_errors=db.errors,
            version=__version__,
            started_at=self._started_at,
            replica=self.replica,
            leases=tuple(self.leases()) if self.leases is not None else (),
            passes=tuple(self.passes),
        )
