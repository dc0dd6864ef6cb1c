"""SqlDatabaseProbe: is the database reachable, and at which schema revision?

The engine and Alembic stay in storage; `services.health.BotHealth` sees only the
`DatabaseProbe` port, so it can be tested with a fake and never imports SQLAlchemy.

`probe_engine` builds the health check's own engine. On the bot's engine the probe
queued for a connection behind every slash command in flight, and under 64 concurrent
clients it timed out: `/healthz` said 503 while the database was fine. Its own engine
has one connection that only the probe uses (`BotHealth` runs one probe at a time), so
it never waits for a connection; on SQLite its reads also skip `BEGIN IMMEDIATE`, so
they never wait for the write lock either (WAL lets a reader read beside a writer).
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.storage import revisions
from idlbot.storage.db import create_engine, head_revision

__all__ = ["SqlDatabaseProbe", "probe_engine"]

PROBE_POOL_TIMEOUT = 1.0
"""Seconds to wait for the probe's one connection; only reached if a probe leaked it."""


def probe_engine(url: str) -> AsyncEngine:
    """A one-connection, read-only engine for the health probe (see the module doc).

    An in-memory SQLite database exists only on the bot's own connection, so there the
    probe gets a plain engine (tests only; no production database is in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return create_engine(url, immediate=False)
    return create_engine(url, immediate=False, pool_size=1, max_overflow=0, pool_timeout=PROBE_POOL_TIMEOUT)


class SqlDatabaseProbe:
    """Implements `idlbot.ports.health_probes.DatabaseProbe` on an async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._head: str | None = None
        self._table = False  # alembic_version seen: from then on one SELECT, no catalog lookup

    async def revision(self) -> str | None:
        """The stamped revision (a query: the database answers). The version table, once
        seen, is taken to stay; were it dropped, the SELECT fails and the reading with it."""
        async with self._engine.connect() as conn:
            if self._table:
                return await conn.run_sync(revisions.stamped)
            revision = await conn.run_sync(revisions.current)
            self._table = revision is not None
            return revision

    def head(self) -> str:
        """Read from the migration scripts once: they do not change while the bot runs."""
        if self._head is None:
            self._head = head_revision()
        return self._head
