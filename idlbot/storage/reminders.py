"""SqlReminderStore: custom reminders, firings (the claim), mutes, calendar tokens.

The claim is one INSERT … ON CONFLICT (key) DO NOTHING RETURNING: the database, not a
read-then-write in Python, decides which process owns an occurrence. A claim left
behind by a process that died before recording the outcome can be taken over after
`stale`; the post itself is keyed in the outbox by the firing key, so even a takeover
that races a slow (not dead) owner cannot post twice.

A store is bound to one course (`course=`): every row it writes carries it and every
query filters on it, so courses share the database and never each other's claims, mutes
or tokens. Calendar tokens are unique across the database, though: `calendar_course`
tells, from the /calendar URL alone, which course's store to ask.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import String, Table, delete, literal, select, update

from idlbot.domain.course import DEFAULT_COURSE_ID
from idlbot.domain.reminders import CustomReminder, FiringKind
from idlbot.domain.when import Repeat
from idlbot.ports.reminder_store import FiringState
from idlbot.ports.reminders import FiringRecord
from idlbot.storage._dialect import Database, insert_for, read, transaction
from idlbot.storage.models import OutboxRow
from idlbot.storage.models_reminders import CalendarTokenRow, CustomReminderRow, FiringRow, MuteRow

__all__ = ["FiringState", "SqlReminderStore", "calendar_course"]

_F = cast(Table, FiringRow.__table__)
_C = cast(Table, CustomReminderRow.__table__)
_M = cast(Table, MuteRow.__table__)
_T = cast(Table, CalendarTokenRow.__table__)


def _custom(row: Any) -> CustomReminder:
    m = row._mapping
    return CustomReminder(
        id=m["id"],
        kind=cast(Repeat, m["kind"]),
        first=m["first_at"],
        channel=m["channel"],
        text=m["text"],
        created_by=m["created_by"],
        cancelled=bool(m["cancelled"]),
        created_by_id=m["created_by_id"],
    )


class SqlReminderStore:
    """Implements `idlbot.ports.reminder_store.ReminderStore`; each method is one short
    transaction (see storage/_dialect.py)."""

    def __init__(self, db: Database, *, course: str = DEFAULT_COURSE_ID, outbox_prefix: str = "") -> None:
        """`outbox_prefix`: what the course's outbox view puts before its keys
        (`storage/course_outbox.py`), so the log finds each firing's post."""
        self._db = db
        self._course = course
        self._outbox_prefix = outbox_prefix

    # --- custom reminders -------------------------------------------------------

    async def add_custom(
        self,
        *,
        kind: Repeat,
        first: datetime,
        channel: str,
        text: str,
        created_by: str,
        created_by_id: str,
        now: datetime,
    ) -> CustomReminder:
        values = {
            "course": self._course,
            "kind": kind,
            "first_at": first,
            "channel": channel,
            "text": text,
            "created_by": created_by,
            "created_by_id": created_by_id,
            "created_at": now,
            "cancelled": False,
        }
        async with transaction(self._db) as conn:
            row = (await conn.execute(_C.insert().values(**values).returning(*_C.c))).one()
        return _custom(row)

    async def cancel_custom(self, reminder_id: int) -> CustomReminder | None:
        """The reminder now cancelled; None if there is none, or it was cancelled already
        (conditional, so of two concurrent cancels only one is told "cancelled")."""
        stmt = (
            update(_C)
            .where(_C.c.course == self._course, _C.c.id == reminder_id, _C.c.cancelled.is_(False))
            .values(cancelled=True)
            .returning(*_C.c)
        )
        async with transaction(self._db) as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _custom(row)

    async def customs(self, *, include_cancelled: bool = False) -> list[CustomReminder]:
        stmt = select(*_C.c).where(_C.c.course == self._course).order_by(_C.c.id)
        if not include_cancelled:
            stmt = stmt.where(_C.c.cancelled.is_(False))
        async with read(self._db) as conn:
            return [_custom(r) for r in (await conn.execute(stmt)).all()]

    async def custom(self, reminder_id: int) -> CustomReminder | None:
        async with read(self._db) as conn:
            stmt = select(*_C.c).where(_C.c.course == self._course, _C.c.id == reminder_id)
            row = (await conn.execute(stmt)).first()
        return None if row is None else _custom(row)

    # --- firings --------------------------------------------------------------------

    async def claim(
        self, *, key: str, kind: FiringKind, fire_at: datetime, target: str, now: datetime, stale: timedelta
    ) -> bool:
        """True if this caller now owns the occurrence and must decide and record it."""
        insert = _claim_values(self._course, key=key, kind=kind, fire_at=fire_at, target=target, now=now)
        async with transaction(self._db) as conn:
            stmt = (
                insert_for(conn, _F)
                .values(**insert)
                .on_conflict_do_nothing(index_elements=["course", "key"])
                .returning(_F.c.id)
            )
            if (await conn.execute(stmt)).first() is not None:
                return True
            takeover = (
                update(_F)
                .where(
                    _F.c.course == self._course,
                    _F.c.key == key,
                    _F.c.state == "claimed",
                    _F.c.claimed_at < now - stale,
                )
                .values(claimed_at=now)
                .returning(_F.c.id)
            )
            return (await conn.execute(takeover)).first() is not None

    async def finish(
        self,
        key: str,
        *,
        state: Literal["sent", "skipped", "failed"],
        reason: str,
        now: datetime,
        outbox_key: str | None = None,
        fanout: int = 0,
    ) -> None:
        stmt = (
            update(_F)
            .where(_F.c.course == self._course, _F.c.key == key)
            .values(state=state, reason=reason[:2000], decided_at=now, outbox_key=outbox_key, fanout=fanout)
        )
        async with transaction(self._db) as conn:
            await conn.execute(stmt)

    async def states(self, *, since: datetime) -> dict[str, FiringState]:
        """Every firing recorded for occurrences at or after `since`, by key."""
        stmt = select(_F.c.key, _F.c.state, _F.c.claimed_at).where(
            _F.c.course == self._course, _F.c.fire_at >= since
        )
        async with read(self._db) as conn:
            rows = (await conn.execute(stmt)).all()
        return {key: FiringState(state, claimed_at) for key, state, claimed_at in rows}

    async def log(self, limit: int = 20) -> list[FiringRecord]:
        o = OutboxRow.__table__
        posted = (
            literal(self._outbox_prefix, String) + _F.c.outbox_key if self._outbox_prefix else _F.c.outbox_key
        )
        stmt = (
            select(*_F.c, o.c.state.label("delivery"))
            .select_from(_F.outerjoin(o, o.c.key == posted))
            .where(_F.c.course == self._course)
            .order_by(_F.c.fire_at.desc(), _F.c.id.desc())
            .limit(limit)
        )
        async with read(self._db) as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            FiringRecord(
                key=m["key"],
                kind=m["kind"],
                fire_at=m["fire_at"],
                target=m["target"],
                state=m["state"],
                decided_at=m["decided_at"],
                reason=m["reason"],
                delivery=m["delivery"],
                fanout=m["fanout"],
            )
            for m in (r._mapping for r in rows)
        ]

    # --- mutes ----------------------------------------------------------------------

    async def set_muted(self, user_id: str, kind: str, muted: bool, now: datetime) -> None:
        async with transaction(self._db) as conn:
            if muted:
                stmt = (
                    insert_for(conn, _M)
                    .values(course=self._course, user_id=user_id, kind=kind, muted_at=now)
                    .on_conflict_do_nothing(index_elements=["course", "user_id", "kind"])
                )
                await conn.execute(stmt)
            else:
                mine = (_M.c.course == self._course, _M.c.user_id == user_id, _M.c.kind == kind)
                await conn.execute(delete(_M).where(*mine))

    async def muted(self, kind: str) -> set[str]:
        async with read(self._db) as conn:
            stmt = select(_M.c.user_id).where(_M.c.course == self._course, _M.c.kind == kind)
            rows = (await conn.execute(stmt)).all()
        return {r[0] for r in rows}

    # --- calendar tokens ------------------------------------------------------------

    async def calendar_token(self, user_id: str, username: str, now: datetime, *, reset: bool = False) -> str:
        """The user's token in this course, created on first use; `reset` replaces it (the
        old URL dies). A user in two courses has two tokens, one per course."""
        fresh = secrets.token_urlsafe(24)
        key = ["course", "user_id"]
        async with transaction(self._db) as conn:
            stmt = insert_for(conn, _T).values(
                course=self._course, user_id=user_id, token=fresh, username=username, created_at=now
            )
            if reset:
                stmt = stmt.on_conflict_do_update(
                    index_elements=key, set_={"token": fresh, "created_at": now, "username": username}
                )
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=key)
            await conn.execute(stmt)
            mine = select(_T.c.token).where(_T.c.course == self._course, _T.c.user_id == user_id)
            token = (await conn.execute(mine)).scalar_one()
        return str(token)

    async def calendar_user(self, token: str) -> tuple[str, str] | None:
        """(user id, username) for a token of this course, or None (a token of another
        course too: `calendar_course` says which store to ask). A lookup by the unique
        index, so the time taken does not depend on how much of a guessed token is right."""
        stmt = select(_T.c.user_id, _T.c.username).where(_T.c.token == token, _T.c.course == self._course)
        async with read(self._db) as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else (str(row[0]), str(row[1]))


async def calendar_course(db: Database, token: str) -> str | None:
    """The course whose calendar token this is, or None: the one lookup that is not bound
    to a course, for the /calendar route to pick that course's feed (tokens are unique
    across the database). By the unique index, like `calendar_user`."""
    async with read(db) as conn:
        found = (await conn.execute(select(_T.c.course).where(_T.c.token == token))).first()
    return None if found is None else str(found[0])


def _claim_values(
    course: str, *, key: str, kind: FiringKind, fire_at: datetime, target: str, now: datetime
) -> dict[str, Any]:
    return {
        "course": course,
        "key": key,
        "kind": kind,
        "fire_at": fire_at,
        "target": target[:100],
        "state": "claimed",
        "claimed_at": now,
        "fanout": 0,
    }
