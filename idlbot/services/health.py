"""The Health port: websocket, database, schema and outbox, read fresh on each call.

Every reading comes through a port (`ports.health_probes`), so this service neither
knows the engine nor the websocket class, and a test can fake any of them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from idlbot import __version__
from idlbot.ports.health import HealthSnapshot
from idlbot.ports.health_probes import DatabaseProbe, OutboxStats, WebsocketState

log = logging.getLogger(__name__)


class BotHealth:
    DB_TIMEOUT = 3.0
    """Seconds for all database readings together: `/healthz` must answer even when the
    database hangs rather than refuses (a stuck connection pool, a locked SQLite file)."""

    def __init__(
        self,
        *,
        database: DatabaseProbe,
        outbox: OutboxStats,
        started_at: datetime,
        websocket: WebsocketState | None = None,
    ) -> None:
        self._database_probe = database
        self._outbox = outbox
        self._started_at = started_at
        self.websocket = websocket  # set by the app once the supervisor exists (after login)

    async def _database(self) -> tuple[bool, str | None, int, datetime | None, list[tuple[str, str]]]:
        revision = await self._database_probe.revision()
        backlog, oldest = await self._outbox.backlog()
        errors = await self._outbox.recent_errors(5)
        return True, revision, backlog, oldest, errors

    async def snapshot(self) -> HealthSnapshot:
        try:
            ok, revision, backlog, oldest, errors = await asyncio.wait_for(self._database(), self.DB_TIMEOUT)
        except Exception as err:  # noqa: BLE001 - an unreachable database is a reading, not a crash
            log.warning("health: database check failed: %s", type(err).__name__)
            ok, revision, backlog, oldest, errors = False, None, 0, None, []
        ws = self.websocket
        return HealthSnapshot(
            websocket_state=ws.state if ws else "not started",
            websocket_connected=bool(ws and ws.connected),
            reconnects=ws.reconnects if ws else 0,
            database_ok=ok,
            schema_revision=revision,
            schema_head=self._database_probe.head(),
            outbox_backlog=backlog,
            oldest_pending=oldest,
            last_errors=errors,
            version=__version__,
            started_at=self._started_at,
        )
