"""Every command, every role, every scope it reaches: who is allowed, who is refused.

The table lists each registered command with the targets it can reach (own and other
exercise group's channel, own and other student, own and other's reminder and
announcement, ...) and the roles allowed; every other role must be refused
(`forbidden`, the registry's outcome for a role or policy refusal), except where a row
names another outcome (a staff member asking for their own `status` has none: a
`user_error`). The table is checked against the registry, so a new command cannot be
added without its rows here.

Each case runs through the registry on every port wired to a fresh in-memory fake of
the 2018 course (`tests/support/fakes.py`): alice (g1) and bob (g2) in the roster;
tutor1 tutors g1 (~exercise-group-1, purpose `group1`), tutor2 g2; sstober instructs.
Custom reminder 1 is tutor1's, 2 sstober's, 3 one stored before creators were recorded;
announcement 1 (scheduled) is jens's, 2 tutor1's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from idlbot.clock import FakeClock
from idlbot.commands import build_registry
from idlbot.commands.context import Context, Ports, User
from idlbot.config import Settings, load
from idlbot.domain.reminders import CustomReminder
from idlbot.domain.roles import Role
from tests.commands.conftest import ENV
from tests.support.fakes import NOW, fake_ports
from tests.support.fakes_features import FakeAnnouncements, FakeJobs, FakeReminders, berlin

ROOT = Path(__file__).resolve().parents[2]

STUDENT, TUTOR1, TUTOR2, INSTRUCTOR = "student", "tutor of g1", "tutor of g2", "instructor"
ROLES = {
    STUDENT: ("alice", Role.STUDENT),
    TUTOR1: ("tutor1", Role.TUTOR),
    TUTOR2: ("tutor2", Role.TUTOR),
    INSTRUCTOR: ("sstober", Role.INSTRUCTOR),
}
ALL = frozenset(ROLES)
STAFF = frozenset({TUTOR1, TUTOR2, INSTRUCTOR})


@dataclass(frozen=True)
class Row:
    text: str
    scope: str
    allowed: frozenset[str]
    otherwise: str = "forbidden"


def row(text: str, scope: str, *allowed: str, otherwise: str = "forbidden") -> Row:
    return Row(text, scope, frozenset(allowed), otherwise)


TABLE: dict[str, list[Row]] = {
    "help": [
        row("help", "none", *ALL),
        row("help export", "a command above the role", INSTRUCTOR),
        row("help record", "a command above the role", *STAFF),
    ],
    "deadlines": [row("deadlines 3", "none", *ALL)],
    "whoami": [row("whoami", "self", *ALL)],
    "use": [row("use", "self", *ALL), row("use nlp", "self", *ALL)],
    "calendar": [row("calendar", "self", *ALL), row("calendar reset", "self", *ALL)],
    "status": [
        row("status", "self", STUDENT, otherwise="user_error"),
        row("status @alice", "student of g1", STUDENT, TUTOR1, INSTRUCTOR),
        row("status @bob", "student of g2", TUTOR2, INSTRUCTOR),
    ],
    "overview": [
        row("overview", "own groups", *STAFF),
        row("overview g1", "group g1", TUTOR1, INSTRUCTOR),
        row("overview g2", "group g2", TUTOR2, INSTRUCTOR),
    ],
    "export": [row("export", "whole course", INSTRUCTOR)],
    "record": [
        row('record a01 @alice excused --reason "sick"', "student of g1", TUTOR1, INSTRUCTOR),
        row('record a01 @bob excused --reason "sick"', "student of g2", TUTOR2, INSTRUCTOR),
    ],
    "present": [
        row("present a02 @alice ok", "student of g1", TUTOR1, INSTRUCTOR),
        row("present a01 @bob ok", "student of g2", TUTOR2, INSTRUCTOR),
    ],
    "paper": [row("paper lyrics-a done", "team", INSTRUCTOR)],
    "roster": [
        row("roster @alice", "student of g1", TUTOR1, INSTRUCTOR),
        row("roster @bob", "student of g2", TUTOR2, INSTRUCTOR),
        row("roster @alice gitlab=alice-k", "student of g1", TUTOR1, INSTRUCTOR),
        row("roster @alice group=g2", "student of g1 into group g2", INSTRUCTOR),
        row("roster @bob group=g1", "student of g2 into group g1", INSTRUCTOR),
        row("roster @alice group=", "student of g1 out of every group", INSTRUCTOR),
    ],
    "audit": [row("audit", "whole course", INSTRUCTOR), row("audit @alice", "student of g1", INSTRUCTOR)],
    "agenda": [
        row("agenda", "none", *ALL),
        row("agenda preview", "class agenda", INSTRUCTOR),
        row("agenda freeze", "class agenda", INSTRUCTOR),
        row("agenda skip #12", "class agenda", INSTRUCTOR),
        row("agenda done #12", "class agenda", INSTRUCTOR),
    ],
    "remind": [
        row("remind off", "self", *ALL),
        row("remind on", "self", *ALL),
        row("remind list", "every reminder", *STAFF),
        row("remind log 5", "every reminder", *STAFF),
        row("remind add in 2h group1 Laptops", "channel of g1 (purpose)", TUTOR1, INSTRUCTOR),
        row("remind add in 2h ~exercise-group-1 Laptops", "channel of g1 (name)", TUTOR1, INSTRUCTOR),
        row("remind add in 2h group2 Laptops", "channel of g2", TUTOR2, INSTRUCTOR),
        row("remind add in 2h town-square Pizza", "town-square", INSTRUCTOR),
        row("remind add weekly tue 10:00 questions Ask!", "questions channel", INSTRUCTOR),
        row("remind cancel 1", "tutor1's reminder", TUTOR1, INSTRUCTOR),
        row("remind cancel 2", "instructor's reminder", INSTRUCTOR),
        row("remind cancel 3", "reminder of unknown creator", INSTRUCTOR),
        row("remind test 1", "tutor1's reminder", TUTOR1, INSTRUCTOR),
        row("remind test 2", "instructor's reminder", INSTRUCTOR),
        row("remind test rem:questions:2018-10-23:-2h", "reminder from the config", INSTRUCTOR),
    ],
    "rota": [
        row("rota", "none", *ALL),
        row("rota swap 2018-10-24 @bob", "own summary pick", STUDENT),
        row("rota accept 2018-10-31", "a swap asked of them", STUDENT, otherwise="user_error"),
        row("rota decline 2018-10-31", "a swap asked of them", STUDENT, otherwise="user_error"),
        row("rota assign 2018-10-31 @carol", "summary rota", *STAFF),
        row("rota excuse @alice 2018-10-24", "summary rota", *STAFF),
    ],
    "jobs": [
        row("jobs", "self", *ALL),
        row("jobs why 4711", "own job", *ALL),
        row("jobs why 4801", "another student's job", *STAFF),
    ],
    "notify": [row("notify jobs", "self", *ALL), row("notify jobs all", "self", *ALL)],
    "announce": [
        row("announce --yes Room change", "default channel", *STAFF),
        row("announce --yes --channel group1 Room change", "channel of g1", TUTOR1, INSTRUCTOR),
        row("announce --yes --channel group2 Room change", "channel of g2", TUTOR2, INSTRUCTOR),
        row("announce --yes --channel town-square Room change", "town-square", INSTRUCTOR),
        row("announce --yes --notify all --channel group1 Exam", "@all in channel of g1", INSTRUCTOR),
        row("announce list", "own announcements", *STAFF),
        row("announce cancel 1", "jens's announcement", INSTRUCTOR),
        row("announce cancel 2", "tutor1's announcement", TUTOR1, INSTRUCTOR),
    ],
    "maintenance": [
        row("maintenance list", "cluster", INSTRUCTOR),
        row("maintenance add fri 04:00 12:00 power cut", "cluster", INSTRUCTOR),
        row("maintenance cancel maint_20181102_0600", "cluster", INSTRUCTOR),
    ],
    "health": [row("health", "the bot", *STAFF)],
    "presented": [
        row("presented lyrics-a @alice", "a team's record", *STAFF),
        row("presented lyrics-b", "a team's record", *STAFF),
    ],
    "presenters": [
        row("presenters", "own team", STUDENT, otherwise="user_error"),
        row("presenters all", "every team", *STAFF),
        row("presenters lyrics-b", "another team", *STAFF),
    ],
}

REGISTRY = build_registry()


def cases() -> Iterator[tuple[str, Row, str]]:
    for command, rows in TABLE.items():
        for r in rows:
            for role in ROLES:
                yield command, r, role


CASES = list(cases())


@pytest.fixture(scope="module")
def course_settings() -> Settings:
    return load(ROOT / "config.example.toml", env=ENV)


def seeded_ports(settings: Settings) -> Ports:
    ports = fake_ports(settings.course, settings.agenda, dict(settings.mattermost.channels))
    reminders = ports.reminders
    assert isinstance(reminders, FakeReminders)
    for rid, by, by_id, channel in (
        (1, "tutor1", "id-tutor1", "group1"),
        (2, "sstober", "id-sstober", "questions"),
        (3, "tutor1", None, "group1"),  # stored before creators were recorded
    ):
        reminders.customs[rid] = CustomReminder(
            rid, "once", berlin(10, 24, 18), channel, "Bring your laptop", by, created_by_id=by_id
        )
    announcements = ports.announcements
    assert isinstance(announcements, FakeAnnouncements)
    first = announcements.items[1]
    announcements.items[2] = replace(
        first, id=2, channel_name="exercise-group-1", created_by="tutor1", created_by_id="id-tutor1"
    )
    accounts = {name: f"{name[:2]}123" for name, _ in ROLES.values()}
    return Ports(**{**{n: getattr(ports, n) for n in _PORTS}, "jobs": FakeJobs(accounts=accounts)})


_PORTS = ("health", "outbox", "people", "qualification", "reminders", "agenda", "announcements",
          "maintenance", "chart", "exclusions", "presenters", "rota", "courses")  # fmt: skip


def context_for(settings: Settings, role: str, ports: Ports) -> Context:
    name, level = ROLES[role]
    user = User(id=f"id-{name}", username=name, role=level, tz=ZoneInfo("Europe/Berlin"))
    return Context(user=user, channel_id="chan1", via="slash", clock=FakeClock(NOW),
                   course=settings.course, ports=ports, instructors=settings.roles.instructors)  # fmt: skip


def test_the_table_covers_every_registered_command() -> None:
    assert set(TABLE) == {c.name for c in REGISTRY.commands()}
    assert all(TABLE.values())


def test_the_table_reaches_every_role_and_both_sides_of_every_scope() -> None:
    """Each scope kind has a row a tutor of g1 may and one they may not act on."""
    for kind in ("channel of g", "student of g", "reminder", "announcement", "group g"):
        rows = [r for rs in TABLE.values() for r in rs if kind in r.scope]
        assert any(TUTOR1 in r.allowed for r in rows) and any(TUTOR1 not in r.allowed for r in rows), kind


@pytest.mark.parametrize(
    ("command", "case", "role"), CASES, ids=[f"{r.text} | {r.scope} | {role}" for _, r, role in CASES]
)
async def test_role_and_scope_decide(command: str, case: Row, role: str, course_settings: Settings) -> None:
    outcomes: list[str] = []
    registry = build_registry(observer=lambda name, outcome, _: outcomes.append(outcome))
    reply = await registry.run(context_for(course_settings, role, seeded_ports(course_settings)), case.text)
    expected = "ok" if role in case.allowed else case.otherwise
    assert outcomes == [expected], reply.text
