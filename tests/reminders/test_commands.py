"""`/idl remind …` and `/idl calendar …` through the registry, on the SQL port, plus the
ICS route. Times appear in the asking user's zone, with the zone named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar

from idlbot.clock import FakeClock
from idlbot.commands import calendar, remind
from idlbot.commands.context import Context, Ports, User
from idlbot.commands.registry import Registry
from idlbot.config import Settings
from idlbot.domain.roles import Role
from idlbot.services.reminders import ReminderService
from idlbot.web.calendar import ROUTE, calendar_route
from tests.commands.conftest import FakeHealth
from tests.reminders.conftest import Rig, berlin

REGISTRY = Registry([remind.group, calendar.group])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(berlin(2018, 10, 22, 9))


@pytest.fixture
def service(rig: Rig) -> ReminderService:
    return ReminderService(rig.store, rig.runner, calendar_base_url="https://bot.example.org/")


def ctx_for(
    service: ReminderService,
    clock: FakeClock,
    settings: Settings,
    user: str,
    role: Role,
    tz: str = "Europe/Berlin",
) -> Context:
    u = User(id=f"id-{user}".ljust(26, "0"), username=user, role=role, tz=ZoneInfo(tz))
    return Context(
        user=u,
        channel_id="chan1",
        via="slash",
        clock=clock,
        course=settings.course,
        ports=Ports(health=FakeHealth(), reminders=service),
    )


async def test_add_list_test_cancel(service: ReminderService, clock: FakeClock, settings: Settings) -> None:
    staff = ctx_for(service, clock, settings, "sstober", Role.INSTRUCTOR)
    reply = await REGISTRY.run(staff, "remind add tue 10:00 questions Two hours left for questions")
    assert reply.text.startswith("Reminder 1 set: Tue 23 Oct 2018, 10:00 CEST (tomorrow) to ~questions")
    reply = await REGISTRY.run(staff, "remind add weekly tue 10:00 town_square @all coffee")
    assert reply.text.startswith("Weekly reminder 2 set: Tue 10:00 CEST to ~town\\_square")
    listing = await REGISTRY.run(staff, "remind list")
    lines = listing.text.splitlines()
    assert lines[0] == "Next 10 reminders (times in Europe/Berlin):"
    assert "Mon 22 Oct 2018, 12:00 CEST" in lines[1] and "rem:questions:2018-10-23:-24h" in lines[1]
    assert any("#1 to ~questions" in ln for ln in lines)
    preview = await REGISTRY.run(staff, "remind test 2")
    assert "@\u200ball coffee" in preview.text
    assert (await REGISTRY.run(staff, "remind cancel 1")).text == "Reminder 1 cancelled."
    assert "#1 " not in (await REGISTRY.run(staff, "remind list")).text
    assert "no reminder 99" in (await REGISTRY.run(staff, "remind cancel 99")).text


async def test_times_are_shown_in_the_users_zone(
    service: ReminderService, clock: FakeClock, settings: Settings
) -> None:
    ny = ctx_for(service, clock, settings, "jens", Role.INSTRUCTOR, tz="America/New_York")
    listing = await REGISTRY.run(ny, "remind list")
    assert "times in America/New_York" in listing.text and "Mon 22 Oct 2018, 06:00 EDT" in listing.text


async def test_bad_when_names_the_formats(
    service: ReminderService, clock: FakeClock, settings: Settings
) -> None:
    staff = ctx_for(service, clock, settings, "sstober", Role.INSTRUCTOR)
    reply = await REGISTRY.run(staff, "remind add someday questions hi")
    assert "`tue 10:00`" in reply.text and "`in 2h`" in reply.text and "`2018-10-23 10:00`" in reply.text


async def test_students_may_only_mute(
    service: ReminderService, clock: FakeClock, settings: Settings, rig: Rig
) -> None:
    alice = ctx_for(service, clock, settings, "alice", Role.STUDENT)
    assert "for tutors and instructors" in (await REGISTRY.run(alice, "remind list")).text
    assert (await REGISTRY.run(alice, "remind off")).text.startswith("Personal reminders are off.")
    assert alice.user.id in await rig.store.muted("nudges")
    assert (await REGISTRY.run(alice, "remind on")).text == "Personal reminders are on again."
    assert "Usage" in (await REGISTRY.run(alice, "remind")).text


async def test_log_shows_sent_and_skipped(
    service: ReminderService, clock: FakeClock, settings: Settings, rig: Rig
) -> None:
    await rig.scheduler.start(berlin(2018, 10, 22, 12, 10))
    staff = ctx_for(service, clock, settings, "tutor1", Role.TUTOR)
    text = (await REGISTRY.run(staff, "remind log 5")).text
    assert "`rem:questions:2018-10-23:-24h` to ~questions: **delivery pending** (late by 10 min" in text
    assert "**skipped** (deadline passed" in text


async def test_examples_run(service: ReminderService, clock: FakeClock, settings: Settings) -> None:
    for command in REGISTRY.commands():
        ctx = ctx_for(service, clock, settings, "alice", command.role)
        for example in command.examples_for(command.role):
            reply = await REGISTRY.run(ctx, example.text)
            assert reply.text.startswith(example.reply), (example, reply.text)


@pytest.fixture
async def ics_client(rig: Rig, settings: Settings, clock: FakeClock) -> AsyncIterator[TestClient]:
    async def group_of(user: str) -> str | None:
        return "g1"

    app = web.Application()
    app.router.add_get(ROUTE, calendar_route(rig.store, settings.course, clock, group_of=group_of))
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_calendar_link_feed_and_reset(
    service: ReminderService, clock: FakeClock, settings: Settings, ics_client: TestClient
) -> None:
    alice = ctx_for(service, clock, settings, "alice", Role.STUDENT)
    text = (await REGISTRY.run(alice, "calendar")).text
    link = text.split()[3]
    assert link.startswith("https://bot.example.org/calendar/") and link.endswith(".ics")
    assert (await REGISTRY.run(alice, "calendar")).text.split()[3] == link  # stable until reset
    path = link.removeprefix("https://bot.example.org")
    resp = await ics_client.get(path)
    assert resp.status == 200 and resp.content_type == "text/calendar"
    cal = Calendar.from_ical(await resp.text())
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert "assignment:a03@idlbot" in events
    assert "exercise:g1:2018-10-18@idlbot" in events
    assert not any(uid.startswith("exercise:g2") for uid in events)
    assert "questions:2018-12-25@idlbot" not in events
    a03 = events["assignment:a03@idlbot"].decoded("dtstart")
    assert a03.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M %Z") == "23:59 CET"
    reset = (await REGISTRY.run(alice, "calendar reset")).text
    assert reset.startswith("New calendar feed") and link not in reset
    assert (await ics_client.get(path)).status == 404
    assert (await ics_client.get("/calendar/not-a-token.ics")).status == 404
    assert (await ics_client.get("/calendar/" + "x" * 32 + ".ics")).status == 404
