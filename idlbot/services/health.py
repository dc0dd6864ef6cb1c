"""The Health port: websocket, database, schema and outbox, read fresh on each call."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot import __version__
from idlbot.adapters.mattermost.websocket import WebsocketSupervisor
from idlbot.ports.health import HealthSnapshot
from idlbot.storage.db import current_revision, head_revision
from idlbot.storage.outbox import SqlOutbox

log = logging.getLogger(__name__)


class BotHealth:
    DB_TIMEOUT = 3.0

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        outbox: SqlOutbox,
        started_at: datetime,
        websocket: WebsocketSupervisor | None = None,
    ) -> None:
        self._engine = engine
        self._outbox = outbox
        self._started_at = started_at
        self.websocket = websocket

    async def _database(self) -> tuple[bool, str | None, int, datetime | None, list[tuple[str, str]]]:
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        revision = await current_revision(self._engine)
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
            schema_head=head_revision(),
            outbox_backlog=backlog,
            oldest_pending=oldest,
            last_errors=errors,
            version=__version__,
            started_at=self._started_at,
        )
