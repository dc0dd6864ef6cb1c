"""SqlAnnouncementStore and SqlMaintenanceStore: rows ⇄ domain values, one short
transaction per method (see storage/_dialect.py).

State changes are conditional UPDATEs (`WHERE state = 'draft'`), so a double click on the
confirm button, or a confirm racing a cancel, has exactly one winner: the caller learns
from the return value whether it was the one.

An announcement store is bound to one course (`course=`) and sees only that course's
announcements, even by id: a button of one course cannot act on another's. Maintenance
windows belong to the deployment (one shared cluster) and carry no course.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update

from idlbot.domain.announce import Announcement, AnnouncementState, Notify
from idlbot.domain.course import DEFAULT_COURSE_ID
from idlbot.domain.maintenance import Source, Window
from idlbot.storage._dialect import Database, insert_for, read, transaction
from idlbot.storage.models_announce import AnnouncementRow, MaintWindowRow

__all__ = ["SqlAnnouncementStore", "SqlMaintenanceStore"]

_A = cast(Table, AnnouncementRow.__table__)
_W = cast(Table, MaintWindowRow.__table__)


def _announcement(row: Any) -> Announcement:
    m = row._mapping
    return Announcement(
        id=m["id"],
        state=cast(AnnouncementState, m["state"]),
        channel_id=m["channel_id"],
        channel_name=m["channel_name"],
        text=m["text"],
        notify=cast(Notify, m["notify"]),
        post_at=m["post_at"],
        created_by=m["created_by"],
        created_by_id=m["created_by_id"],
        created_at=m["created_at"],
    )


class SqlAnnouncementStore:
    def __init__(self, db: Database, *, course: str = DEFAULT_COURSE_ID) -> None:
        self._db = db
        self._course = course

    async def add_draft(
        self,
        *,
        channel_id: str,
        channel_name: str,
        text: str,
        notify: Notify,
        post_at: datetime | None,
        by: str,
        by_id: str,
        token: str,
        now: datetime,
    ) -> Announcement:
        values = {
            "course": self._course, "state": "draft", "channel_id": channel_id,
            "channel_name": channel_name, "text": text, "notify": notify, "post_at": post_at,
            "created_by": by, "created_by_id": by_id,
            "created_at": now, "token": token, "updated_at": now,
        }  # fmt: skip
        async with transaction(self._db) as conn:
            new_id = (await conn.execute(_A.insert().values(**values).returning(_A.c.id))).scalar_one()
            row = (await conn.execute(select(*_A.c).where(_A.c.id == new_id))).one()
        return _announcement(row)

    async def get(self, announcement_id: int) -> tuple[Announcement, str] | None:
        """The announcement and its button token."""
        async with read(self._db) as conn:
            stmt = select(*_A.c).where(_A.c.course == self._course, _A.c.id == announcement_id)
            row = (await conn.execute(stmt)).first()
        return None if row is None else (_announcement(row), row._mapping["token"])

    async def announcement(self, announcement_id: int) -> Announcement | None:
        """The announcement alone (whoever needs no token: the failure notices)."""
        found = await self.get(announcement_id)
        return None if found is None else found[0]

    async def transition(
        self, announcement_id: int, *, from_states: tuple[str, ...], to: AnnouncementState, now: datetime
    ) -> bool:
        stmt = (
            update(_A)
            .where(_A.c.course == self._course, _A.c.id == announcement_id, _A.c.state.in_(from_states))
            .values(state=to, updated_at=now)
        )
        async with transaction(self._db) as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def scheduled(self) -> list[Announcement]:
        stmt = (
            select(*_A.c)
            .where(_A.c.course == self._course, _A.c.state == "scheduled")
            .order_by(_A.c.post_at, _A.c.id)
        )
        async with read(self._db) as conn:
            return [_announcement(r) for r in (await conn.execute(stmt)).all()]

    async def due(self, now: datetime) -> list[Announcement]:
        stmt = (
            select(*_A.c)
            .where(_A.c.course == self._course, _A.c.state == "scheduled", _A.c.post_at <= now)
            .order_by(_A.c.post_at, _A.c.id)
        )
        async with read(self._db) as conn:
            return [_announcement(r) for r in (await conn.execute(stmt)).all()]


def _window(row: Any) -> Window:
    m = row._mapping
    return Window(
        name=m["name"],
        start=m["start"],
        end=m["end"],
        key_base=m["key_base"],
        reason=m["reason"],
        source=cast(Source, m["source"]),
        created_by=m["created_by"],
        announced_at=m["announced_at"],
        reminded_at=m["reminded_at"],
        up_at=m["up_at"],
        cancelled_at=m["cancelled_at"],
        warned_jobs=frozenset(int(i) for i in m["warned_jobs"]),
    )


_STEPS = frozenset({"announced_at", "reminded_at", "up_at", "cancelled_at"})


class SqlMaintenanceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, w: Window, now: datetime) -> bool:
        """Remember a window unless its key base is known; True if inserted."""
        values = {
            "key_base": w.key_base, "name": w.name, "start": w.start, "end": w.end, "reason": w.reason,
            "source": w.source, "created_by": w.created_by, "first_seen_at": now,
            "announced_at": w.announced_at, "reminded_at": w.reminded_at, "up_at": w.up_at,
            "cancelled_at": w.cancelled_at, "warned_jobs": sorted(w.warned_jobs),
        }  # fmt: skip
        async with transaction(self._db) as conn:
            stmt = (
                insert_for(conn, _W)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["key_base"])
                .returning(_W.c.id)
            )
            return (await conn.execute(stmt)).first() is not None

    async def open_windows(self) -> list[Window]:
        stmt = (
            select(*_W.c)
            .where(_W.c.up_at.is_(None), _W.c.cancelled_at.is_(None))
            .order_by(_W.c.start, _W.c.id)
        )
        async with read(self._db) as conn:
            return [_window(r) for r in (await conn.execute(stmt)).all()]

    async def recent(self, limit: int = 20) -> list[Window]:
        stmt = select(*_W.c).order_by(_W.c.start.desc(), _W.c.id.desc()).limit(limit)
        async with read(self._db) as conn:
            return [_window(r) for r in (await conn.execute(stmt)).all()]

    async def mark(self, key_base: str, step: str, at: datetime) -> None:
        """Record that a step's post was enqueued (announced_at, reminded_at, up_at, cancelled_at)."""
        if step not in _STEPS:
            raise ValueError(step)
        async with transaction(self._db) as conn:
            await conn.execute(update(_W).where(_W.c.key_base == key_base).values({step: at}))

    async def add_warned(self, key_base: str, job_ids: Iterable[int]) -> None:
        """Add job ids to the window's warned set (read-modify-write in one transaction;
        a lost race only means a job is listed in a second DM, never a missed one)."""
        async with transaction(self._db) as conn:
            row = (await conn.execute(select(_W.c.warned_jobs).where(_W.c.key_base == key_base))).first()
            if row is None:
                return
            merged = sorted({*(int(i) for i in row[0]), *job_ids})
            await conn.execute(update(_W).where(_W.c.key_base == key_base).values(warned_jobs=merged))

    async def move(self, key_base: str, start: datetime, end: datetime) -> None:
        async with transaction(self._db) as conn:
            await conn.execute(update(_W).where(_W.c.key_base == key_base).values(start=start, end=end))
