"""Command-level fixtures: the registry with in-memory ports and a fake clock."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from idlbot.clock import FakeClock
from idlbot.commands import build_registry
from idlbot.commands.context import Context, User, Via
from idlbot.commands.registry import Registry
from idlbot.config import Settings, load
from idlbot.domain.roles import Role
from idlbot.ports import HealthSnapshot

ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")
ENV = {"IDLBOT_MATTERMOST_TOKEN": "bot-token-for-tests", "IDLBOT_SLASH_TOKEN": "slash-token-for-tests"}


class FakeHealth:
    def __init__(self) -> None:
        self.snap = HealthSnapshot(
            websocket_state="connected",
            websocket_connected=True,
            reconnects=2,
            database_ok=True,
            schema_revision="0001",
            schema_head="0001",
            outbox_backlog=3,
            oldest_pending=datetime(2018, 10, 22, 6, 59, tzinfo=ZoneInfo("UTC")),
            last_errors=[("reply:abc", "503 server error")],
            version="0.1.0",
            started_at=datetime(2018, 10, 21, 7, 0, tzinfo=ZoneInfo("UTC")),
        )

    async def snapshot(self) -> HealthSnapshot:
        return self.snap


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
def make_ctx(settings: Settings, clock: FakeClock):  # type: ignore[no-untyped-def]
    def make(
        username: str = "alice", role: Role = Role.STUDENT, tz: str = "Europe/Berlin", via: Via = "slash"
    ) -> Context:
        user = User(id=f"id-{username}", username=username, role=role, tz=ZoneInfo(tz))
        return Context(
            user=user, channel_id="chan1", via=via, clock=clock, course=settings.course, health=FakeHealth()
        )

    return make
