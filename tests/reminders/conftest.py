"""Reminder fixtures: the example course, the SQL store and outbox on `db_url`, a fake
roster and channel lookup, and a ManualScheduler driven by a FakeClock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.config import Settings, load
from idlbot.ports.routines import Routine
from idlbot.services.reminder_firing import FireDeps, Outcome
from idlbot.services.reminders import ReminderRunner
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.outbox import SqlOutbox
from idlbot.storage.reminders import SqlReminderStore

ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")
ENV = {"IDLBOT_MATTERMOST_TOKEN": "bot-token-for-tests", "IDLBOT_SLASH_TOKEN": "slash-token-for-tests"}


def channel_id_of(name: str) -> str:
    """A fake 26-character Mattermost id that reveals the channel name."""
    return ("c-" + name).ljust(26, ".")[:26]


def user_id(n: int) -> str:
    return f"u{n:025d}"


async def lookup_channel(name: str) -> str | None:
    return None if name == "nowhere" else channel_id_of(name)


@dataclass
class FakeRoster:
    """Students 1..n; `hand_ins` holds (user id, assignment id) pairs; groups by id."""

    n: int = 3
    hand_ins: set[tuple[str, str]] = field(default_factory=set)
    groups: dict[str, list[str]] = field(default_factory=dict)

    async def students(self) -> list[tuple[str, str]]:
        return [(user_id(i), f"student{i}") for i in range(1, self.n + 1)]

    async def has_hand_in(self, user: str, assignment_id: str) -> bool:
        return (user, assignment_id) in self.hand_ins

    async def group_members(self, group_id: str) -> list[str]:
        return self.groups.get(group_id, [])


class ManualScheduler:
    """The app's alarm clock (`scheduling.aps`) for tests: nothing happens until
    `run_due(now)` is called with the fake clock's time, so no test sleeps for time logic."""

    def __init__(self, runner: ReminderRunner) -> None:
        self.runner = runner

    async def start(self, now: datetime) -> list[tuple[str, Outcome]]:
        """Rehydrate: decide everything missed while we were down."""
        return await self.runner.run_due(now)

    async def run_due(self, now: datetime) -> list[tuple[str, Outcome]]:
        return await self.runner.run_due(now)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load(ROOT / "config.example.toml", env=ENV)


@dataclass
class Rig:
    engine: AsyncEngine
    store: SqlReminderStore
    outbox: SqlOutbox
    roster: FakeRoster
    deps: FireDeps
    runner: ReminderRunner
    scheduler: ManualScheduler


def make_rig(
    engine: AsyncEngine,
    settings: Settings,
    roster: FakeRoster | None = None,
    routines: Mapping[str, Routine] | None = None,
) -> Rig:
    """`routines`: course routines to plan and fire with the reminders (ports.routines)."""
    sessions = sessionmaker(engine)
    store = SqlReminderStore(sessions)
    outbox = SqlOutbox(sessions)
    roster = roster or FakeRoster()

    async def filed() -> int | None:
        return 7

    deps = FireDeps(
        store=store,
        outbox=outbox,
        channels=settings.mattermost.channels,
        channel_id=lookup_channel,
        roster=roster,
        questions_count=filed,
        routines=routines or {},
    )
    runner = ReminderRunner(deps, settings.course, settings.reminders)
    return Rig(engine, store, outbox, roster, deps, runner, ManualScheduler(runner))


@pytest.fixture
async def rig(db_url: str, settings: Settings) -> AsyncIterator[Rig]:
    engine = create_engine(db_url)
    try:
        yield make_rig(engine, settings)
    finally:
        await engine.dispose()


def berlin(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=BERLIN)
