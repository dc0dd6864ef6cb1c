"""SqlCourseChoices: which course a user in several courses means in a DM."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, select

from idlbot.ports.course_choice import Choice
from idlbot.storage._dialect import Database, insert_for, read, transaction
from idlbot.storage.models_courses import CourseChoiceRow

__all__ = ["SqlCourseChoices"]

_C = cast(Table, CourseChoiceRow.__table__)


class SqlCourseChoices:
    """One short transaction per call; both writes are single atomic statements."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: str) -> Choice | None:
        stmt = select(_C.c.course, _C.c.chosen, _C.c.asked_in).where(_C.c.user_id == user_id)
        async with read(self._db) as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        return Choice(course=row.course, chosen=bool(row.chosen), asked_in=row.asked_in)

    async def ask(self, user_id: str, course: str, now: datetime, *, asked_in: str | None = None) -> bool:
        """Record that the user is asked, in the answer to post `asked_in` (their DMs go to
        `course` until they choose). True if this call recorded it; a user already asked,
        or who chose, keeps their row."""
        async with transaction(self._db) as conn:
            values = {"course": course, "chosen": False, "updated_at": now, "asked_in": asked_in}
            stmt = insert_for(conn, _C).values(user_id=user_id, **values)
            result = await conn.execute(stmt.on_conflict_do_nothing(index_elements=["user_id"]))
        return bool(result.rowcount)

    async def choose(self, user_id: str, course: str, now: datetime) -> None:
        async with transaction(self._db) as conn:
            stmt = insert_for(conn, _C).values(user_id=user_id, course=course, chosen=True, updated_at=now)
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["user_id"], set_={"course": course, "chosen": True, "updated_at": now}
                )
            )
