"""What `BotHealth` reads to build a `HealthSnapshot` (see `ports.health`).

Three small readings, each implemented where the thing lives: the database probe in
storage (`storage.health.SqlDatabaseProbe`, which knows the engine and Alembic), the
outbox statistics by `storage.outbox.SqlOutbox`, and the websocket state by the
Mattermost adapter's `WebsocketSupervisor`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class DatabaseProbe(Protocol):
    async def revision(self) -> str | None:
        """One round trip: raises if the database cannot be reached; else the schema
        revision stamped in it (None for an unmigrated database)."""
        ...

    def head(self) -> str:
        """The schema revision this code needs: `/idl health` shows both, so a database
        left behind by a deploy is visible at a glance."""
        ...


class OutboxStats(Protocol):
    async def backlog(self) -> tuple[int, datetime | None]:
        """(posts not yet delivered or given up, when the oldest of them was queued):
        a growing backlog or an old oldest post means Mattermost is not taking posts."""
        ...

    async def recent_errors(self, limit: int = 5) -> list[tuple[str, str]]:
        """(outbox key, last error) of the latest failed attempts, newest first."""
        ...


class WebsocketState(Protocol):
    """The websocket supervisor as health sees it (read-only, read on every snapshot)."""

    @property
    def state(self) -> str:
        """The supervisor's phase: connecting, connected, reconnecting, auth_failed, stopped."""
        ...

    @property
    def connected(self) -> bool:
        """True between the server's hello and the next drop: DMs arrive live."""
        ...

    @property
    def reconnects(self) -> int:
        """Connections after the first: many of them point at a flaky proxy or server."""
        ...
