"""SqlDeliveryKeys: the one table of webhook deliveries already handled, for every path.

`seen` is a single INSERT … ON CONFLICT DO NOTHING RETURNING: the database, not a read
then a write in Python, decides which caller handles a delivery. On PostgreSQL a second
inserter of the same key waits for the first one's commit and then sees the conflict;
on SQLite every transaction takes the write lock up front (BEGIN IMMEDIATE), so the
inserts are serialised. Either way exactly one concurrent caller gets False.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete

from idlbot.storage._dialect import Database, insert_for, transaction
from idlbot.storage.models import DeliveryKeyRow

__all__ = ["SqlDeliveryKeys"]

_K = cast(Table, DeliveryKeyRow.__table__)
KEY_LENGTH = 255
"""Column width. GitLab's keys are UUIDs (36 characters); a longer key from elsewhere is
cut rather than refused, since refusing would fail the delivery it is meant to guard."""


class SqlDeliveryKeys:
    """Implements `idlbot.ports.deliveries.DeliveryKeys`, plus `prune` for housekeeping."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def seen(self, scope: str, key: str, now: datetime) -> bool:
        """True if `key` was seen in `scope` before; else claim it and return False."""
        async with transaction(self._db) as conn:
            stmt = (
                insert_for(conn, _K)
                .values(scope=scope, key=key[:KEY_LENGTH], seen_at=now)
                .on_conflict_do_nothing(index_elements=["scope", "key"])
                .returning(_K.c.key)
            )
            return (await conn.execute(stmt)).first() is None

    async def prune(self, before: datetime) -> int:
        """Forget keys seen before `before`, in every scope; returns how many. A delivery
        resent after that is handled again, so `before` must lie beyond any resend."""
        async with transaction(self._db) as conn:
            rows = await conn.execute(delete(_K).where(_K.c.seen_at < before).returning(_K.c.key))
            return len(rows.all())
