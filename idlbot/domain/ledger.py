"""The qualification ledger's records, as plain values: what the rule engine reads.

Storage produces them (from GitLab hand-ins, tutors' presentation records, wiki events
and staff overrides); `domain/qualification.py` turns them into verdicts and a forecast.
Every record says where it came from, so `/idl status` can show why a number is what
it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

HandInStatus = Literal["on-time", "late", "missing", "excused"]
Outcome = Literal["ok", "fail"]


@dataclass(frozen=True)
class Student:
    """A roster entry. Usernames are lowercase."""

    mattermost: str
    gitlab: str | None = None
    cluster: str | None = None
    group_id: str | None = None  # exercise group
    team_id: str | None = None  # course-project team
    mattermost_id: str | None = None  # filled once the bot has seen the user


@dataclass(frozen=True)
class HandIn:
    """The hand-in of one assignment by one student. From GitLab (`source="gitlab"`,
    `at` = when GitLab received the tag push) or a staff override (`source="override"`,
    which always wins over GitLab; `reason` says why)."""

    assignment_id: str
    status: HandInStatus
    at: datetime | None
    source: Literal["gitlab", "override"] = "gitlab"
    by: str | None = None  # who pushed (GitLab username) or who overrode (Mattermost username)
    reason: str | None = None
    repo_path: str | None = None


@dataclass(frozen=True)
class Presentation:
    """A tutor asked the student to present an assignment's solution."""

    assignment_id: str
    outcome: Outcome
    by: str  # the tutor's or instructor's Mattermost username
    at: datetime
    note: str | None = None


@dataclass(frozen=True)
class WikiPost:
    """A wiki page that counts: a blog post (`kind="blog"`) or a team progress report."""

    kind: Literal["blog", "report"]
    slug: str
    at: datetime
    team_id: str | None = None


@dataclass(frozen=True)
class StudentLedger:
    """Everything recorded for one student."""

    student: Student
    hand_ins: tuple[HandIn, ...] = ()
    presentations: tuple[Presentation, ...] = ()
    posts: tuple[WikiPost, ...] = ()
    group_paper: bool | None = None  # None: not decided yet (the paper comes at the end)
    notes: tuple[str, ...] = field(default=())
