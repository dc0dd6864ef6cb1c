"""The blog nudge and the early warnings in the golden semester: the real routines on
the real SQL stores of the test database, with a small deterministic roster.

student1 (g1) hands in everything and blogs every Wednesday; student2 (g2) hands in the
odd assignments and blogs in even course weeks only; student3 (g3) hands in and blogs
nothing and muted the nudges. So student2 is at the last chance after a02 and out of
reach after a04; student3 after a01 and a02. Hand-ins are staff overrides recorded
before the term (an on-time record counts from the start, like a hand-in made early),
blog posts are recorded with their dates and count from then on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.config import Settings
from idlbot.domain.gitlab import WikiCreation
from idlbot.domain.ledger import Student
from idlbot.domain.schedule import wall_clock
from idlbot.ports.routines import Routine
from idlbot.services.blog_nudge import BlogNudge
from idlbot.services.early_warnings import EarlyWarnings, WarningCheck
from idlbot.services.warning_digest import WarningDigest
from idlbot.storage.db import sessionmaker
from idlbot.storage.ledger import SqlQualification
from idlbot.storage.outbox import SqlOutbox
from idlbot.storage.reminders import SqlReminderStore
from idlbot.storage.roster import SqlRoster
from idlbot.storage.warnings import SqlWarnings
from tests.reminders.conftest import FakeRoster, user_id

BEFORE_TERM = datetime(2018, 10, 1, 9, 0, tzinfo=UTC)
STUDENTS = (
    (1, "g1", "lyrics-a"),
    (2, "g2", "lyrics-a"),
    (3, "g3", "lyrics-a"),
    (4, "g1", "lyrics-b"),
    (5, "g2", "lyrics-b"),
)
"""(n, exercise group, project team): student4 and student5 hand in and blog like student1;
they make up the second team of the presenter rota."""


class StaffIds:
    """Mattermost ids: students as in the fake roster, staff readable in the golden file."""

    async def user_id(self, username: str) -> str | None:
        if username.startswith("student"):
            return user_id(int(username.removeprefix("student")))
        return f"staff-{username}"

    async def user_ids(self, usernames: Iterable[str]) -> dict[str, str]:
        return {name: found for name in usernames if (found := await self.user_id(name)) is not None}


async def seed(engine: AsyncEngine, settings: Settings, roster: FakeRoster) -> None:
    sessions = sessionmaker(engine)
    people, ledger, course = SqlRoster(sessions), SqlQualification(sessions, settings.course), settings.course
    for n, group, team in STUDENTS:
        name = f"student{n}"
        student = Student(name, gitlab=name, group_id=group, team_id=team, mattermost_id=user_id(n))
        await people.upsert(student, now=BEFORE_TERM)
        for who, aid in sorted(roster.hand_ins):
            if who == user_id(n):
                await ledger.override(name, aid, "on-time", reason="handed in", by="sstober", now=BEFORE_TERM)
    monday = course.start - timedelta(days=course.start.weekday())
    week = 0
    while monday <= course.end:
        wednesday = wall_clock(monday + timedelta(days=2), time(20, 0), course.tz)
        for n in (1, 2, 4, 5) if week % 2 == 0 else (1, 4, 5):
            page = WikiCreation(f"blog/student{n}/week-{week}", f"Week {week}", f"student{n}", wednesday)
            await ledger.record_wiki_creation(page, course, "blog")
        monday += timedelta(days=7)
        week += 1


def routines(engine: AsyncEngine, settings: Settings, roster: FakeRoster) -> dict[str, Routine]:
    """The three routines with [blog_nudge] and [warnings] on, as the example's tables say."""
    sessions = sessionmaker(engine)
    ledgers, outbox, course = (
        SqlQualification(sessions, settings.course),
        SqlOutbox(sessions),
        settings.course,
    )
    staff = StaffIds()
    roles = settings.roles
    warnings = EarlyWarnings(SqlWarnings(sessions), ledgers, outbox, staff, course, roles.instructors)
    found: list[Routine] = [
        BlogNudge(
            settings.blog_nudge, course, ledgers=ledgers, students=roster, mutes=SqlReminderStore(sessions),
            outbox=outbox,
        ),
        WarningCheck(warnings),
        WarningDigest(
            settings.warnings, course, ledgers=ledgers, people=staff, outbox=outbox,
            instructors=roles.instructors, tutors=roles.tutors,
        ),
    ]  # fmt: skip
    return {r.name: r for r in found}
