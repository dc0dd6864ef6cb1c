"""SqlDeliveryFailures: failed outbox rows and failed reminder firings, read as one.

Implements `ports.failures.FailureLog` (which failures still need a notice) and the
health check's `OutboxStats` (backlog from the outbox; the last errors from both tables,
so a reminder whose channel vanished before it fired shows in `/idl health` like a post
Mattermost refused).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, exists, false, func, literal, or_, select
from sqlalchemy.orm import aliased

from idlbot.ports.failures import NOTICE_PREFIX, DeliveryFailure
from idlbot.storage._dialect import Database, read, transaction
from idlbot.storage.models import OutboxRow
from idlbot.storage.models_reminders import FiringRow
from idlbot.storage.outbox import SqlOutbox

__all__ = ["SqlDeliveryFailures"]

_F = cast(Table, FiringRow.__table__)
_WHEN = func.coalesce(OutboxRow.claimed_at, OutboxRow.created_at)
# `recent_errors`' two reads, built once: the health check runs them every second
_POSTS_FAILING = (
    select(OutboxRow.key, OutboxRow.last_error, _WHEN)
    .where(OutboxRow.last_error.is_not(None))
    .order_by(_WHEN.desc(), OutboxRow.id.desc())
    .limit(bindparam("limit", type_=Integer()))
)
_FIRINGS_FAILED = (
    select(_F.c.key, _F.c.reason, _F.c.decided_at)
    .where(_F.c.state == "failed")
    .order_by(_F.c.decided_at.desc(), _F.c.id.desc())
    .limit(bindparam("limit", type_=Integer()))
)


class SqlDeliveryFailures:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._outbox = SqlOutbox(db)

    async def backlog(self) -> tuple[int, datetime | None]:
        return await self._outbox.backlog()

    async def recent_errors(self, limit: int = 5) -> list[tuple[str, str]]:
        """(key, error), newest first: the outbox's last errors and failed firings."""
        async with read(self._db) as conn:
            rows: list[Any] = [
                *(await conn.execute(_POSTS_FAILING, {"limit": limit})).all(),
                *(await conn.execute(_FIRINGS_FAILED, {"limit": limit})).all(),
            ]
        found = [(key, error, at) for key, error, at in rows if error is not None and at is not None]
        found.sort(key=lambda r: r[2], reverse=True)
        return [(key, error) for key, error, _ in found[:limit]]

    async def unreported(
        self, *, prefixes: Sequence[str], since: datetime, limit: int = 50
    ) -> list[DeliveryFailure]:
        notice = aliased(OutboxRow)
        if not prefixes:
            return []
        given_up = func.coalesce(OutboxRow.claimed_at, OutboxRow.created_at)
        posts = (
            select(OutboxRow.key, OutboxRow.last_error, given_up)
            .where(
                OutboxRow.state == "failed",
                OutboxRow.created_at >= since,
                or_(false(), *(OutboxRow.key.startswith(p, autoescape=True) for p in prefixes)),
                ~exists().where(notice.key == literal(NOTICE_PREFIX) + OutboxRow.key),
            )
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        firings = (
            select(_F.c.key, _F.c.reason, _F.c.decided_at)
            .where(
                _F.c.state == "failed",
                _F.c.decided_at >= since,
                or_(false(), *(_F.c.key.startswith(p, autoescape=True) for p in prefixes)),
                ~exists().where(notice.key == literal(NOTICE_PREFIX) + _F.c.key),
            )
            .order_by(_F.c.id)
            .limit(limit)
        )
        async with transaction(self._db) as conn:
            rows = [*(await conn.execute(posts)).all(), *(await conn.execute(firings)).all()]
        found = [DeliveryFailure(key, error or "failed", at) for key, error, at in rows if at is not None]
        found.sort(key=lambda f: f.at)
        return found[:limit]
