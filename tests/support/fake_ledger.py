"""The qualification ledger in memory: the `QualificationStore` behind the real
`QualificationService`, so the `Qualification` port a test gets applies the course's rules
and words its refusals exactly as the bot does. Alice (g1, lyrics-a, cluster al123) and
bob (g2, lyrics-b), as of Monday 22 October 2018."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from idlbot.domain.audit import hand_in_state, override_state, paper_state, presentation_state, roster_state
from idlbot.domain.course import Course
from idlbot.domain.ledger import (
    HandIn,
    HandInStatus,
    Outcome,
    Presentation,
    Student,
    StudentLedger,
    gitlab_status,
)
from idlbot.domain.roster import RosterChanges, RosterConflict
from idlbot.domain.usernames import normalize_username
from idlbot.ports.qualification import AuditEntry
from idlbot.services.qualification import QualificationService

BERLIN = ZoneInfo("Europe/Berlin")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass
class _Row:
    student: Student
    active: bool = True
    hand_ins: dict[str, HandIn] = field(default_factory=dict)
    presentations: dict[str, Presentation] = field(default_factory=dict)
    paper: bool | None = None


class FakeQualificationStore:
    """`QualificationStore` in memory. Put the real `QualificationService` in front of it
    (`fake_qualification`) to get the `Qualification` port with the course's rules."""

    def __init__(self, course: Course, students: Sequence[Student] = ()) -> None:
        self._course = course
        self._rows = {s.mattermost: _Row(s) for s in students}
        self._team_papers: dict[str, bool] = {}
        self._audit: list[AuditEntry] = []

    def hand_in(self, name: str, assignment_id: str, at: datetime) -> None:
        """A tag push GitLab received at `at` (on time or late is decided when read)."""
        row = self._rows[name]
        row.hand_ins[assignment_id] = HandIn(assignment_id, "on-time", at, "gitlab", by=row.student.gitlab)

    def presented(self, name: str, assignment_id: str, outcome: Outcome, by: str, at: datetime) -> None:
        """A presentation recorded earlier, with its audit row."""
        self._rows[name].presentations[assignment_id] = Presentation(assignment_id, outcome, by, at)
        self._log(at=at, actor=by, action="present", student=name, team_id=None, assignment_id=assignment_id,
                  before=None, after=presentation_state(outcome, by), reason=None)  # fmt: skip

    def _due(self, assignment_id: str) -> datetime | None:
        found = self._course.assignment(assignment_id)
        return found.due if found is not None else None

    def _log(self, **values: Any) -> AuditEntry:
        entry = AuditEntry(id=len(self._audit) + 1, **values)
        self._audit.append(entry)
        return entry

    async def student(self, mattermost: str) -> Student | None:
        row = self._rows.get(normalize_username(mattermost))
        return row.student if row is not None else None

    async def edit_student(
        self, mattermost: str, changes: RosterChanges, *, by: str, now: datetime
    ) -> Student | None:
        row = self._rows.get(normalize_username(mattermost))
        if row is None:
            return None
        old = {**vars(row.student), "active": row.active}
        changed = {k: v for k, v in changes.items() if old[k] != v}
        if not changed:
            return row.student
        gitlab = changed.get("gitlab")
        for other in self._rows.values():
            if gitlab and other is not row and other.student.gitlab == gitlab:
                held = f"GitLab username {gitlab!r} already belongs to @{other.student.mattermost}"
                raise RosterConflict({row.student.mattermost: held})
        self._log(at=now, actor=by, action="roster-edit", student=row.student.mattermost, team_id=None,
                  assignment_id=None, before=roster_state({k: old[k] for k in changed}),
                  after=roster_state(changed), reason=None)  # fmt: skip
        row.active = bool(changed.get("active", row.active))
        new = {k: _text(v) for k, v in {**old, **changed}.items()}
        row.student = replace(row.student, gitlab=new["gitlab"], cluster=new["cluster"],
                              group_id=new["group_id"], team_id=new["team_id"],
                              active=row.active)  # fmt: skip
        return row.student

    def _ledger(self, row: _Row) -> StudentLedger:
        hand_ins = tuple(
            replace(h, status=gitlab_status(h.at, self._due(h.assignment_id)))
            if h.source == "gitlab" and h.at is not None
            else h
            for h in row.hand_ins.values()
        )
        team = row.student.team_id
        paper = row.paper if row.paper is not None else self._team_papers.get(team or "")
        return StudentLedger(row.student, hand_ins, tuple(row.presentations.values()), (), paper)

    async def ledger_for(self, mattermost: str) -> StudentLedger | None:
        row = self._rows.get(normalize_username(mattermost))
        return self._ledger(row) if row is not None else None

    async def all_ledgers(self, group_id: str | None = None) -> list[StudentLedger]:
        rows = sorted(self._rows.values(), key=lambda r: r.student.mattermost)
        return [self._ledger(r) for r in rows if r.active and group_id in (None, r.student.group_id)]

    async def override(
        self,
        mattermost: str,
        assignment_id: str,
        status: HandInStatus,
        *,
        reason: str,
        by: str,
        now: datetime,
    ) -> AuditEntry | None:
        row = self._rows.get(normalize_username(mattermost))
        if row is None:
            return None
        old = row.hand_ins.get(assignment_id)
        before = hand_in_state(
            (old.status, old.by or "") if old is not None and old.source == "override" else None,
            old.at if old is not None and old.source == "gitlab" else None,
            self._due(assignment_id),
        )
        row.hand_ins[assignment_id] = HandIn(assignment_id, status, now, "override", by=by, reason=reason)
        return self._log(at=now, actor=by, action="override", student=row.student.mattermost, team_id=None,
                         assignment_id=assignment_id, before=before, after=override_state(status, by),
                         reason=reason)  # fmt: skip

    async def present(
        self,
        mattermost: str,
        assignment_id: str,
        outcome: Outcome,
        *,
        note: str | None,
        by: str,
        now: datetime,
    ) -> AuditEntry | None:
        row = self._rows.get(normalize_username(mattermost))
        if row is None:
            return None
        old = row.presentations.get(assignment_id)
        row.presentations[assignment_id] = Presentation(assignment_id, outcome, by, now, note)
        return self._log(at=now, actor=by, action="present", student=row.student.mattermost, team_id=None,
                         assignment_id=assignment_id,
                         before=presentation_state(old.outcome, old.by) if old is not None else None,
                         after=presentation_state(outcome, by), reason=note)  # fmt: skip

    async def set_group_paper(
        self,
        done: bool,
        *,
        team_id: str | None = None,
        mattermost: str | None = None,
        reason: str | None = None,
        by: str,
        now: datetime,
    ) -> AuditEntry | None:
        if mattermost is not None:
            row = self._rows.get(normalize_username(mattermost))
            if row is None:
                return None
            before, row.paper = row.paper, done
            student: str | None = row.student.mattermost
        else:
            before = self._team_papers.get(team_id or "")
            self._team_papers[team_id or ""] = done
            student = None
        return self._log(at=now, actor=by, action="group-paper", student=student, team_id=team_id,
                         assignment_id=None, before=paper_state(before), after=paper_state(done),
                         reason=reason)  # fmt: skip

    async def audit(
        self, *, mattermost: str | None = None, assignment_id: str | None = None, limit: int = 50
    ) -> list[AuditEntry]:
        name = normalize_username(mattermost) if mattermost is not None else None
        found = [
            e
            for e in reversed(self._audit)
            if name in (None, e.student) and assignment_id in (None, e.assignment_id)
        ]
        return found[:limit]


def fake_qualification(course: Course) -> QualificationService:
    """The `Qualification` port on an in-memory store with alice and bob: alice handed in
    a01 on time and explained it in her exercise session, bob handed it in late; alice's
    a02 is already in."""
    store = FakeQualificationStore(
        course,
        [
            Student("alice", gitlab="alice-gl", cluster="al123", group_id="g1", team_id="lyrics-a"),
            Student("bob", gitlab="bob-gl", group_id="g2", team_id="lyrics-b"),
        ],
    )
    store.hand_in("alice", "a01", datetime(2018, 10, 15, 18, 2, tzinfo=BERLIN))
    store.hand_in("alice", "a02", datetime(2018, 10, 21, 20, 40, tzinfo=BERLIN))
    store.hand_in("bob", "a01", datetime(2018, 10, 17, 10, 15, tzinfo=BERLIN))
    store.presented("alice", "a01", "ok", "tutor1", datetime(2018, 10, 18, 14, 10, tzinfo=BERLIN))
    return QualificationService(store, course)
