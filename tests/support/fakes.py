"""In-memory fakes of the ports commands use, holding a small slice of the 2018 course:
alice (exercise group g1, team lyrics-a, cluster account al123) and bob (g2, lyrics-b),
at Monday 22 October 2018, 09:00 Berlin (week 2: a01 is past its deadline, a02 is due
on Tuesday night).

Each fake implements one Protocol of `idlbot.ports` with the behaviour a command can
observe and nothing more. `fake_ports` wires every one into a `Ports`, so a test (and the
contract test that runs every help example) sees a bot with every feature configured.
The qualification ledger's fake is in `fake_ledger.py`, those of the other features in
`fakes_features.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from idlbot.commands.context import Ports
from idlbot.domain.attachment import Attachment
from idlbot.domain.course import Course
from idlbot.domain.exclusion import ExclusionChange
from idlbot.domain.overview import Overview
from idlbot.domain.settings import AgendaSettings
from idlbot.domain.usernames import normalize_username
from idlbot.ports.exclusion import Announced
from idlbot.ports.health import HealthSnapshot
from tests.support.fake_ledger import fake_qualification
from tests.support.fake_presenters import FakePresenters
from tests.support.fakes_features import (
    FakeAgenda,
    FakeAnnouncements,
    FakeCourseChoices,
    FakeJobs,
    FakeMaintenance,
    FakeReminders,
)

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
NOW = datetime(2018, 10, 22, 9, 0, tzinfo=BERLIN)  # Monday of week 2
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass
class FakeOutbox:
    """`Outbox`: what was queued, in order; a key is queued once, as in the real table."""

    items: list[dict[str, Any]] = field(default_factory=list)

    async def enqueue(
        self,
        *,
        key: str,
        message: str,
        now: datetime,
        channel_id: str | None = None,
        dm_user_id: str | None = None,
        props: dict[str, Any] | None = None,
        root_id: str | None = None,
        files: Sequence[Attachment] = (),
    ) -> bool:
        if any(i["key"] == key for i in self.items):
            return False
        self.items.append({"key": key, "message": message, "channel_id": channel_id,
                           "dm_user_id": dm_user_id, "files": list(files)})  # fmt: skip
        return True

    async def enqueue_dms(self, *, items: Sequence[tuple[str, str]], message: str, now: datetime) -> None:
        for key, user_id in items:
            await self.enqueue(key=key, message=message, now=now, dm_user_id=user_id)


@dataclass
class FakePeople:
    """`People`: every name has the id `id-<name>`, except those in `unknown`."""

    unknown: frozenset[str] = frozenset()

    async def user_id(self, username: str) -> str | None:
        name = normalize_username(username)
        return None if name in self.unknown else f"id-{name}"


class FakeHealth:
    """`Health`: connected, with a small backlog and one delivery error."""

    def __init__(self) -> None:
        self.snap = HealthSnapshot(
            websocket_state="connected",
            websocket_connected=True,
            reconnects=2,
            database_ok=True,
            schema_revision="0001",
            schema_head="0001",
            outbox_backlog=3,
            oldest_pending=datetime(2018, 10, 22, 6, 59, tzinfo=UTC),
            last_errors=[("reply:abc", "503 server error")],
            version="0.1.0",
            started_at=datetime(2018, 10, 21, 7, 0, tzinfo=UTC),
        )

    async def snapshot(self) -> HealthSnapshot:
        return self.snap


@dataclass
class FakeChart:
    """`OverviewChart`: a PNG signature and the title, enough to see what was drawn."""

    drawn: list[str | None] = field(default_factory=list)

    async def render(self, overview: Overview, *, title: str | None = None) -> bytes:
        self.drawn.append(title)
        return PNG + (title or "").encode()


class FakeExclusions:
    """`ExclusionNotices` with nothing to announce (the in-memory ledger stores no
    transitions; tests/commands and tests/app run the real one on SQL)."""

    async def announce(self, now: datetime) -> list[Announced]:
        return []

    async def caused_by(self, record_id: int) -> ExclusionChange | None:
        return None


def fake_ports(course: Course, agenda: AgendaSettings, channels: dict[str, str]) -> Ports:
    """Every port wired to a fresh in-memory fake: a bot with every feature set up."""
    return Ports(
        health=FakeHealth(),
        outbox=FakeOutbox(),
        people=FakePeople(),
        qualification=fake_qualification(course),
        reminders=FakeReminders(course, channels),
        agenda=FakeAgenda(course, agenda),
        announcements=FakeAnnouncements(channels),
        maintenance=FakeMaintenance(),
        jobs=FakeJobs(),
        chart=FakeChart(),
        exclusions=FakeExclusions(),
        presenters=FakePresenters(),
        rota=_rota(course),
        courses=FakeCourseChoices(),
    )


def _rota(course: Course) -> Any:
    from tests.support.fakes_rota import fake_rota  # it builds on the fakes above

    return fake_rota(course)
