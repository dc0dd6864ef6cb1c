"""The presenter rota in the database: proposals (one per team and class day) and the
recorded team presentations, both keyed to roster rows.

`propose` and `record` insert with ON CONFLICT DO NOTHING on their UNIQUE keys and read
the stored row back in the same transaction, so a second process, a retried command or a
firing replayed after a crash finds the first row instead of writing another. A team's
record is read in one statement per table (members, presentations, proposals, reports),
whatever the size of the course.

A repository is bound to one course (`course=`): proposals and presentations carry it
and are read, claimed and recorded per course, so two courses may use the same team id.
The roster (`students`, `wiki_posts`) is the roster's to scope by course: its ids are
unique across courses, so rows joined on `student_id` already belong to one course.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ScalarSelect, Select, select

from idlbot.domain.course import DEFAULT_COURSE_ID
from idlbot.domain.ledger import Student
from idlbot.domain.presenters import Presented, Proposal, TeamRecord
from idlbot.ports.presenters import Recorded
from idlbot.storage._dialect import Database, insert_for, read, transaction
from idlbot.storage.models_presenters import ProposalRow, TeamPresentationRow
from idlbot.storage.models_qualification import StudentRow, WikiPostRow
from idlbot.storage.roster import student_from_row

__all__ = ["SqlPresenters", "talks_statement", "waiting_by_team"]

_S = StudentRow.__table__
_P = TeamPresentationRow.__table__
_Q = ProposalRow.__table__


class SqlPresenters:
    def __init__(self, db: Database, *, course: str = DEFAULT_COURSE_ID) -> None:
        self._db = db
        self._course = course

    async def members(self, team_id: str) -> list[Student]:
        stmt = select(_S).where(
            StudentRow.course == self._course, StudentRow.team_id == team_id, StudentRow.active.is_(True)
        )
        async with read(self._db) as conn:
            rows = (await conn.execute(stmt.order_by(StudentRow.mattermost))).all()
        return [student_from_row(r) for r in rows]

    async def team(self, team_id: str) -> TeamRecord:
        presented = (
            select(StudentRow.mattermost, _P.c.class_day, _P.c.by, _P.c.at)
            .join(StudentRow, StudentRow.id == _P.c.student_id)
            .where(_P.c.course == self._course, _P.c.team_id == team_id)
            .order_by(_P.c.class_day, StudentRow.mattermost)
        )
        proposed = (
            select(StudentRow.mattermost, _Q.c.class_day)
            .join(StudentRow, StudentRow.id == _Q.c.student_id)
            .where(_Q.c.course == self._course, _Q.c.team_id == team_id)
            .order_by(_Q.c.class_day)
        )
        reports = (
            select(WikiPostRow.slug, WikiPostRow.created_at)
            .where(
                WikiPostRow.course == self._course,
                WikiPostRow.team_id == team_id,
                WikiPostRow.kind == "report",
            )
            .order_by(WikiPostRow.created_at, WikiPostRow.slug)
        )
        members = await self.members(team_id)
        async with read(self._db) as conn:
            p_rows = (await conn.execute(presented)).all()
            q_rows = (await conn.execute(proposed)).all()
            r_rows = (await conn.execute(reports)).all()
        first: dict[str, datetime] = {}
        for slug, at in r_rows:
            first.setdefault(slug, at)  # one per page: a page edited twice is one report
        return TeamRecord(
            team_id,
            tuple(m.mattermost for m in members),
            tuple(Presented(team_id, name, day, by, at) for name, day, by, at in p_rows),
            tuple(Proposal(team_id, day, name) for name, day in q_rows),
            tuple(sorted(first.items(), key=lambda item: (item[1], item[0]))),
        )

    async def propose(self, team_id: str, day: date, student: str, *, now: datetime) -> str:
        sid = (
            select(StudentRow.id)
            .where(StudentRow.course == self._course, StudentRow.mattermost == student)
            .scalar_subquery()
        )
        async with transaction(self._db) as conn:
            key = {"course": self._course, "team_id": team_id, "class_day": day}
            stmt = insert_for(conn, _Q).values(**key, student_id=sid, at=now)
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=list(key)))
            stored = (
                select(StudentRow.mattermost)
                .select_from(_Q)
                .join(StudentRow, StudentRow.id == _Q.c.student_id)
                .where(*(_Q.c[column] == value for column, value in key.items()))
            )
            return str((await conn.execute(stored)).scalar_one())

    async def record(
        self, team_id: str, student: str, day: date, *, by: str, now: datetime
    ) -> Recorded | None:
        async with transaction(self._db) as conn:
            sid = (
                await conn.execute(
                    select(StudentRow.id).where(
                        StudentRow.course == self._course, StudentRow.mattermost == student
                    )
                )
            ).scalar()
            if sid is None:
                return None
            key = {"course": self._course, "team_id": team_id, "class_day": day, "student_id": sid}
            stmt = insert_for(conn, _P).values(**key, by=by, at=now)
            done = await conn.execute(stmt.on_conflict_do_nothing(index_elements=list(key)))
            created = done.rowcount == 1
            stored = select(_P.c.by, _P.c.at).where(*(_P.c[column] == value for column, value in key.items()))
            row = (await conn.execute(stored)).one()
        return Recorded(created, Presented(team_id, student, day, row.by, row.at))


def talks_statement(course: str, ids: ScalarSelect[Any], teams: ScalarSelect[Any]) -> Select[Any]:
    """For the overview's ledgers (`SqlLedger.all_ledgers`): the chosen students of `course`
    and their team-mates, one row per class each presented in (one row with a NULL day if
    none)."""
    mates = StudentRow.__table__.alias("mate")
    return (
        select(mates.c.id.label("student_id"), mates.c.team_id, mates.c.active, _P.c.class_day)
        .select_from(mates.outerjoin(_P, _P.c.student_id == mates.c.id))
        .where(mates.c.id.in_(ids) | ((mates.c.course == course) & mates.c.team_id.in_(teams)))
    )


def waiting_by_team(talks: Mapping[int | str, list[Mapping[Any, Any]]]) -> dict[str, int]:
    """Active members per team who never presented, from `talks_statement`'s rows by student."""
    waiting: dict[str, int] = {}
    for rows in talks.values():
        first = rows[0] if rows else None
        never = first is not None and all(r["class_day"] is None for r in rows)
        if first is not None and never and first["team_id"] and first["active"]:
            waiting[first["team_id"]] = waiting.get(first["team_id"], 0) + 1
    return waiting


if TYPE_CHECKING:
    from idlbot.ports.presenters import Presenters

    _PORT_CHECK: type[Presenters] = SqlPresenters
