"""The `Qualification` port on top of the store: the course rules of staff records.

Storage only stores; what a course allows is checked here, before any write, and said in
words fit for chat: the assignment and the team must exist in the course, a group paper
is set for a team or for one student, roster values follow the roster file's rules
(`domain/roster.py`), and a GitLab name may belong to one student only (the store finds
the holder, since that needs the database, and this turns it into the refusal). A
student the roster does not have is `NotFound`, whichever call noticed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from idlbot.domain.course import Course
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import NotFound, UserError
from idlbot.domain.ledger import HandInStatus, Outcome, Student, StudentLedger
from idlbot.domain.roster import RosterConflict, roster_changes
from idlbot.domain.usernames import normalize_username
from idlbot.ports.qualification import AuditEntry, QualificationStore, RosterEdit


def _not_on_roster(mattermost: str) -> NotFound:
    return NotFound(f"{defuse('@' + normalize_username(mattermost))} is not on the roster.")


class QualificationService:
    def __init__(self, store: QualificationStore, course: Course) -> None:
        self._store = store
        self._course = course

    def _assignment(self, assignment_id: str) -> str:
        aid = assignment_id.strip().lower()
        if self._course.assignment(aid) is None:
            known = ", ".join(a.id for a in self._course.assignments) or "none"
            raise UserError(f"Unknown assignment “{defuse(assignment_id)}” (known: {known}).")
        return aid

    async def student(self, mattermost: str) -> Student | None:
        return await self._store.student(mattermost)

    async def edit_student(self, mattermost: str, edit: RosterEdit, *, by: str, now: datetime) -> Student:
        try:
            changes = roster_changes(edit, self._course)
        except ValueError as err:
            raise UserError(str(err)) from None
        try:
            student = await self._store.edit_student(mattermost, changes, by=by, now=now)
        except RosterConflict as err:
            raise UserError("; ".join(err.clashes.values()) + ".") from None
        if student is None:
            raise _not_on_roster(mattermost)
        return student

    async def ledger_for(self, mattermost: str) -> StudentLedger | None:
        return await self._store.ledger_for(mattermost)

    async def all_ledgers(self, group_id: str | None = None) -> list[StudentLedger]:
        return await self._store.all_ledgers(group_id)

    async def override(
        self,
        mattermost: str,
        assignment_id: str,
        status: HandInStatus,
        *,
        reason: str,
        by: str,
        now: datetime,
    ) -> AuditEntry:
        aid = self._assignment(assignment_id)
        entry = await self._store.override(mattermost, aid, status, reason=reason, by=by, now=now)
        if entry is None:
            raise _not_on_roster(mattermost)
        return entry

    async def present(
        self,
        mattermost: str,
        assignment_id: str,
        outcome: Outcome,
        *,
        note: str | None,
        by: str,
        now: datetime,
    ) -> AuditEntry:
        aid = self._assignment(assignment_id)
        entry = await self._store.present(mattermost, aid, outcome, note=note, by=by, now=now)
        if entry is None:
            raise _not_on_roster(mattermost)
        return entry

    async def set_group_paper(
        self,
        done: bool,
        *,
        team_id: str | None = None,
        mattermost: str | None = None,
        reason: str | None = None,
        by: str,
        now: datetime,
    ) -> AuditEntry:
        if (team_id is None) == (mattermost is None):
            raise UserError("Give either a team or a student for the group paper.")
        if team_id is not None and self._course.team(team_id) is None:
            raise UserError(f"Unknown team “{defuse(team_id)}”.")
        entry = await self._store.set_group_paper(
            done, team_id=team_id, mattermost=mattermost, reason=reason, by=by, now=now
        )
        if entry is None:
            raise _not_on_roster(mattermost or "")
        return entry

    async def audit(
        self, *, mattermost: str | None = None, assignment_id: str | None = None, limit: int = 50
    ) -> list[AuditEntry]:
        return await self._store.audit(mattermost=mattermost, assignment_id=assignment_id, limit=limit)


if TYPE_CHECKING:
    from idlbot.ports.qualification import Qualification

    _PORT_CHECK: type[Qualification] = QualificationService  # mypy: the class satisfies the port
