"""What the stored transition sequences share (exclusion notices, early warnings).

Both tables have one row per transition: ``student_id``, ``seq`` (UNIQUE per student),
the new state in a column of their own, and ``announced_at`` (NULL until the notices are
in the outbox), and ``course``, its student's. Writing a transition takes the student's row lock first
(``lock_student``), reads the last row, and inserts the next number; reading the
unannounced ones and marking them announced is the same query for both.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from idlbot.storage._dialect import Database, transaction
from idlbot.storage.models_qualification import StudentRow

__all__ = ["last_transition", "lock_student", "mark_announced", "unannounced", "with_student"]


async def lock_student(conn: AsyncConnection, student_id: int) -> None:
    """Hold the student's row until commit, so writers of one student run one at a time
    (PostgreSQL: ``SELECT … FOR UPDATE``; SQLite: every transaction is ``BEGIN IMMEDIATE``)."""
    await conn.execute(select(StudentRow.id).where(StudentRow.id == student_id).with_for_update())


async def last_transition(
    conn: AsyncConnection, model: Any, student_id: int, state: Any
) -> tuple[int, Any] | None:
    """(seq, state) of the student's latest row in `model`'s table, or None."""
    stmt = select(model.seq, state).where(model.student_id == student_id).order_by(model.seq.desc()).limit(1)
    row = (await conn.execute(stmt)).first()
    return None if row is None else (int(row[0]), row[1])


def with_student(model: Any, course: str) -> Select[Any]:
    """`course`'s rows of `model` with their student's username and group (``student_group``)."""
    return (
        select(model.__table__, StudentRow.mattermost, StudentRow.group_id.label("student_group"))
        .join(StudentRow, StudentRow.id == model.student_id)
        .where(model.course == course)
    )


def unannounced(model: Any, course: str) -> Select[Any]:
    """Every row of `course` not announced yet, oldest first (a student's notices are
    queued in the order they happened)."""
    return with_student(model, course).where(model.announced_at.is_(None)).order_by(model.id)


async def mark_announced(db: Database, model: Any, done: Iterable[tuple[int, int]], *, now: datetime) -> None:
    """Mark (student id, seq) rows announced; a row marked already keeps its time."""
    done = list(done)
    if not done:
        return
    async with transaction(db) as conn:
        for student_id, seq in done:
            await conn.execute(
                update(model)
                .where(model.student_id == student_id, model.seq == seq, model.announced_at.is_(None))
                .values(announced_at=now)
            )
