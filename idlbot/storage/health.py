"""SqlDatabaseProbe: is the database reachable, and at which schema revision?

The engine and Alembic stay in storage; `services.health.BotHealth` sees only the
`DatabaseProbe` port, so it can be tested with a fake and never imports SQLAlchemy.
"""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.storage.db import head_revision

__all__ = ["SqlDatabaseProbe"]


class SqlDatabaseProbe:
    """Implements `idlbot.ports.health_probes.DatabaseProbe` on an async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._head: str | None = None

    async def revision(self) -> str | None:
        """`SELECT 1` and the stamped revision, on one connection."""

        def read(conn: Connection) -> str | None:
            return MigrationContext.configure(conn).get_current_revision()

        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            return await conn.run_sync(read)

    def head(self) -> str:
        """Read from the migration scripts once: they do not change while the bot runs."""
        if self._head is None:
            self._head = head_revision()
        return self._head
