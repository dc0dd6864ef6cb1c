"""Early-warning transitions in the database: stored once, told once.

``record`` runs one short transaction per student whose state seems to have changed:
it locks the student's row, reads the last stored transition, asks the domain whether
the state now is a transition from it, and if so stores it under the next number. Two
checks at once (two processes, the routine and the periodic pass) are serialised by the
lock and the UNIQUE (student_id, seq), so the second finds the first's row and stores
nothing: the compare-and-set that makes "told once" hold. The same queries as the
exclusion notices' (``storage/transitions.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, insert, select

from idlbot.domain.course import DEFAULT_COURSE_ID
from idlbot.domain.early_warnings import WarningChange, WarningState, warning_transition
from idlbot.domain.transitions import Transition
from idlbot.domain.usernames import normalize_username
from idlbot.storage._dialect import Database, read, transaction
from idlbot.storage.models_qualification import StudentRow
from idlbot.storage.models_warnings import WarningChangeRow
from idlbot.storage.transitions import (
    last_transition,
    lock_student,
    mark_announced,
    unannounced,
    with_student,
)

__all__ = ["SqlWarnings"]


def _change(row: Any) -> WarningChange:
    return WarningChange(
        student=row.mattermost,
        student_key=str(row.student_id),
        group_id=row.student_group,
        seq=row.seq,
        state=cast(WarningState, row.state),
        previous=cast(WarningState, row.previous),
        forecast=row.forecast,
        at=row.at,
    )


class SqlWarnings:
    """One course's early-warning transitions."""

    def __init__(self, db: Database, *, course: str = DEFAULT_COURSE_ID) -> None:
        self._db = db
        self._course = course

    async def latest(self) -> dict[str, Transition[WarningState]]:
        """Every student's last stored transition, by username (one read per check, so
        students whose state did not change cost no transaction)."""
        last = (
            select(WarningChangeRow.student_id, func.max(WarningChangeRow.seq).label("seq"))
            .where(WarningChangeRow.course == self._course)
            .group_by(WarningChangeRow.student_id)
            .subquery()
        )
        stmt = (
            select(StudentRow.mattermost, WarningChangeRow.seq, WarningChangeRow.state)
            .join(
                last,
                (last.c.student_id == WarningChangeRow.student_id) & (last.c.seq == WarningChangeRow.seq),
            )
            .join(StudentRow, StudentRow.id == WarningChangeRow.student_id)
        )
        async with read(self._db) as conn:
            rows = (await conn.execute(stmt)).all()
        return {r.mattermost: Transition(r.seq, cast(WarningState, r.state)) for r in rows}

    async def record(
        self, mattermost: str, state: WarningState, *, forecast: str, now: datetime
    ) -> WarningChange | None:
        """Store the transition to `state` if it is one (rules in the module docstring)."""
        async with transaction(self._db) as conn:
            found = (
                await conn.execute(
                    select(StudentRow.id, StudentRow.group_id).where(
                        StudentRow.course == self._course,
                        StudentRow.mattermost == normalize_username(mattermost),
                    )
                )
            ).first()
            if found is None:
                return None
            student_id = found.id
            await lock_student(conn, student_id)
            row = await last_transition(conn, WarningChangeRow, student_id, WarningChangeRow.state)
            last = None if row is None else Transition(row[0], cast(WarningState, row[1]))
            step = warning_transition(last, state)
            if step is None:
                return None
            previous = last.state if last is not None else "ok"
            values = {
                "course": self._course, "student_id": student_id, "seq": step.seq, "state": step.state,
                "previous": previous, "forecast": forecast, "at": now, "announced_at": None,
            }  # fmt: skip
            await conn.execute(insert(WarningChangeRow).values(**values))
        return WarningChange(
            student=normalize_username(mattermost),
            student_key=str(student_id),
            group_id=found.group_id,
            seq=step.seq,
            state=step.state,
            previous=previous,
            forecast=forecast,
            at=now,
        )

    async def unannounced(self) -> list[WarningChange]:
        async with read(self._db) as conn:
            rows = (await conn.execute(unannounced(WarningChangeRow, self._course))).all()
        return [_change(r) for r in rows]

    async def mark_announced(self, changes: Sequence[WarningChange], *, now: datetime) -> None:
        done = [(int(c.student_key), c.seq) for c in changes]
        await mark_announced(self._db, WarningChangeRow, done, now=now)

    async def history(self, mattermost: str) -> list[WarningChange]:
        """Every transition of one student, in order (tests and the audit)."""
        stmt = (
            with_student(WarningChangeRow, self._course)
            .where(StudentRow.mattermost == normalize_username(mattermost))
            .order_by(WarningChangeRow.seq)
        )
        async with read(self._db) as conn:
            rows = (await conn.execute(stmt)).all()
        return [_change(r) for r in rows]
