"""The team presenter rota: who presents the team's progress report in which class.

Each week every course-project team presents its progress in class, the job rotates and
every member must present at least once. The bot proposes a presenter per team and class
(`propose`); tutors and instructors record who actually presented (`Presented`), because
a proposal is only a suggestion (the proposed student may be ill, the team may swap).

The proposal prefers active members who have not presented yet, so "everybody at least
once" is reached as early as possible; among them the one proposed least often (nobody
is proposed twice while a team-mate has never been proposed), and a stable hash of
(username, class date) breaks ties, so the pick is reproducible across processes and
restarts yet not alphabetical every term. Once everybody has presented, the rotation
goes on fairly: fewest presentations first, then fewest proposals, then the hash.

Which report belongs to which class (`report_window`): the pages created after the
previous class ended, up to the end of this class, since a team writes its report in
the week leading up to the class where it presents it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from idlbot.domain.course import Course
from idlbot.domain.schedule import ClassMeeting, class_meetings


@dataclass(frozen=True)
class Presented:
    """A recorded presentation: `student` presented for `team_id` in the class of `day`."""

    team_id: str
    student: str
    day: date
    by: str
    at: datetime


@dataclass(frozen=True)
class Proposal:
    """The bot's stored suggestion for one team and class (one per team and class day)."""

    team_id: str
    day: date
    student: str


@dataclass(frozen=True)
class TeamRecord:
    """What the rota knows about one team: its active members (usernames), what was
    recorded and proposed, and its progress-report pages (slug, created)."""

    team_id: str
    members: tuple[str, ...]
    presented: tuple[Presented, ...] = ()
    proposals: tuple[Proposal, ...] = ()
    reports: tuple[tuple[str, datetime], ...] = ()

    def not_presented(self) -> tuple[str, ...]:
        done = {p.student for p in self.presented}
        return tuple(m for m in self.members if m not in done)


def tie_break(username: str, day: date) -> int:
    """A stable pseudo-random rank: the same in every process (unlike `hash()`)."""
    digest = hashlib.sha256(f"{username}|{day.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def counts(names: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for name in names:
        found[name] = found.get(name, 0) + 1
    return found


def propose(
    members: Sequence[str], day: date, presented: Mapping[str, int], proposed: Mapping[str, int]
) -> str | None:
    """The member to propose for the class of `day` (rules in the module docstring).
    `members` are the team's active members; `presented`/`proposed` count per username.
    None for a team without active members."""
    if not members:
        return None
    fresh = [m for m in members if presented.get(m, 0) == 0]
    pool = fresh or list(members)
    return min(pool, key=lambda m: (presented.get(m, 0), proposed.get(m, 0), tie_break(m, day), m))


def propose_for(record: TeamRecord, day: date) -> str | None:
    """`propose` from a team's record, counting only proposals of other classes."""
    return propose(
        record.members,
        day,
        counts(p.student for p in record.presented),
        counts(p.student for p in record.proposals if p.day != day),
    )


def meeting_on(course: Course, day: date) -> ClassMeeting | None:
    return next((m for m in class_meetings(course) if m.day == day), None)


def latest_class(course: Course, today: date) -> ClassMeeting | None:
    """The latest class on or before `today`: the default of `/idl presented`."""
    past = [m for m in class_meetings(course) if m.day <= today]
    return past[-1] if past else None


def presenting_classes(course: Course) -> tuple[ClassMeeting, ...]:
    """The classes with progress presentations: from `[presenters] start` on."""
    first = course.rules.presenting_from
    return tuple(m for m in class_meetings(course) if first is None or m.day >= first)


def classes_left(course: Course, now: datetime) -> int:
    """Classes with presentations that have not started yet at `now`: chances left to present."""
    return sum(m.start > now for m in presenting_classes(course))


def report_window(course: Course, day: date) -> tuple[datetime | None, datetime] | None:
    """(after, until) for the class of `day`; `after` None for the first class."""
    meetings = class_meetings(course)
    for i, meeting in enumerate(meetings):
        if meeting.day == day:
            return (meetings[i - 1].end if i else None, meeting.end)
    return None


@dataclass(frozen=True)
class Week:
    """One class as `/idl presenters` shows it."""

    meeting: ClassMeeting
    presented: tuple[str, ...]
    proposed: str | None
    reports: tuple[str, ...]


def weeks(course: Course, record: TeamRecord, now: datetime) -> tuple[Week, ...]:
    """Every class with presentations that has started, plus the next one (this week's proposal)."""
    meetings = presenting_classes(course)
    shown = [m for m in meetings if m.start <= now]
    upcoming = [m for m in meetings if m.start > now]
    if upcoming:
        shown.append(upcoming[0])
    out = []
    for meeting in shown:
        window = report_window(course, meeting.day)
        after, until = window if window is not None else (None, meeting.end)
        reports = tuple(slug for slug, at in record.reports if (after is None or at > after) and at <= until)
        out.append(
            Week(
                meeting,
                tuple(sorted(p.student for p in record.presented if p.day == meeting.day)),
                next((p.student for p in record.proposals if p.day == meeting.day), None),
                reports,
            )
        )
    return tuple(out)
