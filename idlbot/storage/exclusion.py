"""Exclusion transitions in the database: written with the record, announced once.

``record_transition`` runs inside the presentation record's transaction, after the
record is written and with the student's row locked (``lock_student``): it counts the
fails, asks the domain whether that is a transition from the last stored one, and if so
stores it under the student's next number. Two records of the same fail, even committed
at the same moment by two web requests, are serialised by the lock (PostgreSQL: ``SELECT
… FOR UPDATE``; SQLite: every transaction is ``BEGIN IMMEDIATE``), so the second finds
the first's transition stored and computes none.

``SqlExclusions`` is what the announcing service reads and marks: the transitions whose
notices are not yet known to be queued. The queries the early warnings share live in
``storage/transitions.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from idlbot.domain.course import DEFAULT_COURSE_ID
from idlbot.domain.exclusion import ExclusionChange, ExclusionState, exclusion_transition
from idlbot.storage._dialect import Database, read
from idlbot.storage.models_exclusion import ExclusionChangeRow
from idlbot.storage.models_qualification import PresentationRow
from idlbot.storage.transitions import (
    last_transition,
    lock_student,
    mark_announced,
    unannounced,
    with_student,
)

__all__ = ["SqlExclusions", "count_fails", "lock_student", "record_transition"]


async def count_fails(conn: AsyncConnection, student_id: int) -> int:
    stmt = select(func.count()).where(
        PresentationRow.student_id == student_id, PresentationRow.outcome == "fail"
    )
    return int((await conn.execute(stmt)).scalar_one())


def _change(row: Any, student: str) -> ExclusionChange:
    return ExclusionChange(
        student=student,
        student_key=str(row.student_id),
        seq=row.seq,
        excluded=row.excluded,
        fails=row.fails,
        limit=row.fails_limit,
        assignment_id=row.assignment_id,
        outcome=row.outcome,
        actor=row.actor,
        at=row.at,
        record_id=row.audit_id,
    )


async def record_transition(
    conn: AsyncConnection,
    student_id: int,
    student: str,
    *,
    course: str,
    fails_before: int,
    limit: int,
    assignment_id: str,
    outcome: str,
    actor: str,
    audit_id: int,
    now: datetime,
) -> ExclusionChange | None:
    """Store the transition this record made, if any (call after writing the record and
    its audit row, whose id it keeps: the command tells its caller what *its* record did)."""
    last_row = await last_transition(conn, ExclusionChangeRow, student_id, ExclusionChangeRow.excluded)
    last = None if last_row is None else ExclusionState(seq=last_row[0], excluded=last_row[1])
    fails = await count_fails(conn, student_id)
    state = exclusion_transition(last, fails_before=fails_before, fails_after=fails, limit=limit)
    if state is None:
        return None
    values = {
        "course": course, "student_id": student_id, "seq": state.seq, "excluded": state.excluded,
        "fails": fails, "fails_limit": limit, "assignment_id": assignment_id, "outcome": outcome,
        "actor": actor, "audit_id": audit_id, "at": now, "announced_at": None,
    }  # fmt: skip
    row = (
        await conn.execute(
            insert(ExclusionChangeRow).values(**values).returning(*ExclusionChangeRow.__table__.c)
        )
    ).one()
    return _change(row, student)


class SqlExclusions:
    """One course's transitions not yet announced, and marking them announced."""

    def __init__(self, db: Database, *, course: str = DEFAULT_COURSE_ID) -> None:
        self._db = db
        self._course = course

    async def unannounced(self) -> list[ExclusionChange]:
        """Oldest first, so a student's notices are queued in the order they happened."""
        async with read(self._db) as conn:
            rows = (await conn.execute(unannounced(ExclusionChangeRow, self._course))).all()
        return [_change(r, r.mattermost) for r in rows]

    async def mark_announced(self, changes: Sequence[ExclusionChange], *, now: datetime) -> None:
        done = [(int(c.student_key), c.seq) for c in changes]
        await mark_announced(self._db, ExclusionChangeRow, done, now=now)

    async def caused_by(self, record_id: int) -> ExclusionChange | None:
        """The transition the record with this audit id made, if it made one."""
        stmt = with_student(ExclusionChangeRow, self._course).where(ExclusionChangeRow.audit_id == record_id)
        async with read(self._db) as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _change(row, row.mattermost)

    async def history(self, student_id: int) -> list[ExclusionChange]:
        """Every transition of one student, in order (for tests and the audit)."""
        stmt = (
            with_student(ExclusionChangeRow, self._course)
            .where(ExclusionChangeRow.student_id == student_id)
            .order_by(ExclusionChangeRow.seq)
        )
        async with read(self._db) as conn:
            rows = (await conn.execute(stmt)).all()
        return [_change(r, r.mattermost) for r in rows]
