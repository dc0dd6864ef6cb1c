"""Command-level fixtures: the registry with real SQL ports on a SQLite file and a fake clock;
the fakes of the other ports come from `tests/support/fakes.py`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from idlbot.adapters.chart import MatplotlibChart
from idlbot.clock import FakeClock
from idlbot.commands import build_registry
from idlbot.commands.context import Context, Ports, User, Via
from idlbot.commands.registry import Registry
from idlbot.config import Settings, load
from idlbot.domain.ledger import Student
from idlbot.domain.roles import Role
from idlbot.services.exclusion import ExclusionNotifier
from idlbot.services.qualification import QualificationService
from idlbot.services.reminder_firing import FireDeps
from idlbot.services.reminders import ReminderRunner, ReminderService
from idlbot.storage.db import create_engine, sessionmaker, upgrade
from idlbot.storage.exclusion import SqlExclusions
from idlbot.storage.ledger import SqlQualification
from idlbot.storage.outbox import SqlOutbox
from idlbot.storage.reminders import SqlReminderStore
from idlbot.storage.roster import SqlRoster
from tests.support.fakes import FakeHealth, FakePeople

__all__ = ["ENV", "FakeHealth", "FakePeople", "MakeCtx"]

ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")
ENV = {"IDLBOT_MATTERMOST_TOKEN": "bot-token-for-tests", "IDLBOT_SLASH_TOKEN": "slash-token-for-tests"}


async def _channel(name: str) -> str | None:
    return f"chan-{name}"


@pytest.fixture
def settings() -> Settings:
    return load(ROOT / "config.example.toml", env=ENV)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2018, 10, 22, 9, 0, tzinfo=BERLIN))  # Monday of week 2


@pytest.fixture
def registry() -> Registry:
    return build_registry()


@pytest.fixture
async def ports(tmp_path: Path, settings: Settings, clock: FakeClock) -> AsyncIterator[Ports]:
    """Real SQL ports on a migrated SQLite file; the roster has alice (g1) and bob (g2)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'commands.db'}"
    await upgrade(url)
    engine = create_engine(url)
    sessions = sessionmaker(engine)
    outbox = SqlOutbox(sessions)
    roster = SqlRoster(sessions)
    for name, group, team in (("alice", "g1", "lyrics-a"), ("bob", "g2", "lyrics-b")):
        student = Student(mattermost=name, gitlab=f"{name}-gl", group_id=group, team_id=team)
        await roster.upsert(student, now=clock.now())
    store = SqlReminderStore(sessions)
    deps = FireDeps(store=store, outbox=outbox, channels=settings.mattermost.channels, channel_id=_channel)
    runner = ReminderRunner(deps, settings.course, settings.reminders)
    chart = MatplotlibChart()
    people = FakePeople()
    exclusions = ExclusionNotifier(SqlExclusions(sessions), outbox, people, settings.roles.instructors)
    yield Ports(
        health=FakeHealth(),
        outbox=outbox,
        qualification=QualificationService(SqlQualification(sessions, settings.course), settings.course),
        reminders=ReminderService(store, runner, calendar_base_url="http://127.0.0.1:9"),
        people=people,
        chart=chart,
        exclusions=exclusions,
    )
    await chart.close()
    await engine.dispose()


MakeCtx = Callable[..., Context]


@pytest.fixture
def make_ctx(settings: Settings, clock: FakeClock, ports: Ports) -> MakeCtx:
    def make(
        username: str = "alice", role: Role = Role.STUDENT, tz: str = "Europe/Berlin", via: Via = "slash"
    ) -> Context:
        user = User(id=f"id-{username}", username=username, role=role, tz=ZoneInfo(tz))
        return Context(
            user=user,
            channel_id="chan1",
            via=via,
            clock=clock,
            course=settings.course,
            ports=ports,
            instructors=settings.roles.instructors,
        )

    return make
