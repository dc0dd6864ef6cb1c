"""The qualification ledger's records, as plain values: what the rule engine reads,
and the two rules that turn GitLab facts into records.

Storage keeps them (from GitLab hand-ins, tutors' presentation records, wiki events and
staff overrides); `domain/qualification.py` turns them into verdicts and a forecast.
Every record says where it came from, so `/idl status` can show why a number is what
it is. Which wiki page counts for whom (`classify_wiki_page`) and when a push is on time
(`gitlab_status`) are course rules, so they live here and storage only applies them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from idlbot.domain.course import Course
from idlbot.domain.usernames import normalize_username

HandInStatus = Literal["on-time", "late", "missing", "excused"]
Outcome = Literal["ok", "fail"]
WikiKind = Literal["blog", "report"]


@dataclass(frozen=True)
class Student:
    """A roster entry. Usernames are lowercase."""

    mattermost: str
    gitlab: str | None = None
    cluster: str | None = None
    group_id: str | None = None  # exercise group
    team_id: str | None = None  # course-project team
    mattermost_id: str | None = None  # filled once the bot has seen the user
    active: bool = True  # False: taken out of the course (rows are never deleted)


@dataclass(frozen=True)
class HandIn:
    """The hand-in of one assignment by one student. From GitLab (`source="gitlab"`,
    `at` = when GitLab received the tag push) or a staff override (`source="override"`,
    which always wins over GitLab; `reason` says why, `at` = when it was recorded, the
    time of its audit entry)."""

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

    kind: WikiKind
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
    progress_presented: tuple[date, ...] = ()  # class days the student presented the team's progress
    team_waiting: int = 0  # active members of the student's team (self included) who never presented


def gitlab_status(received: datetime, due: datetime | None) -> HandInStatus:
    """On time iff GitLab received the tag no later than the deadline. Applied when the
    ledger is read, not when the push is stored, so a deadline moved in the config
    applies to pushes already recorded. No deadline (an id the course does not know):
    on time, as nothing can be late against it."""
    return "on-time" if due is None or received <= due else "late"


def classify_wiki_page(
    slug: str, author: str, course: Course, blog_prefix: str
) -> tuple[WikiKind, str | None] | None:
    """("blog", None) for ``<blog_prefix>/<author>/…``, ("report", team_id) for a page
    under a team's ``wiki_prefix``, else None. Paths compare case-insensitively, as
    GitLab's wiki slugs do.

    A blog page counts only if its author owns the blog: an instructor creating a
    skeleton page in alice's blog must not hand alice a post. Whether the author is on
    the team of a report needs the roster, so the caller checks that. The longest team
    prefix wins, so `teams/a` and `teams/a-2` do not both claim `teams/a-2/x`.
    """
    path = slug.strip("/").lower()
    who = normalize_username(author)
    blog = blog_prefix.strip("/").lower() + "/"
    if path.startswith(blog):
        owner, _, page = path[len(blog) :].partition("/")
        return ("blog", None) if owner == who and page else None
    teams = sorted(course.teams, key=lambda t: len(t.wiki_prefix), reverse=True)
    for team in teams:
        prefix = team.wiki_prefix.strip("/").lower() + "/"
        if path.startswith(prefix) and len(path) > len(prefix):
            return ("report", team.id)
    return None
