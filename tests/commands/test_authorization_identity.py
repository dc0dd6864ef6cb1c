"""Who is asking: `Dispatcher` decides it from the Mattermost lookup of the user id alone.

Slash commands, DMs and mentions all come through `Dispatcher.run`; a slash form's
`user_name` is passed along as `username_hint` and must never decide the role. Before,
a failed lookup fell back to that name, so a form claiming `sstober` ran as the
instructor whenever the id was unknown or Mattermost did not answer."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from idlbot.clock import FakeClock
from idlbot.commands import build_registry
from idlbot.commands.context import Ports, Via
from idlbot.commands.dispatch import LOOKUP_FAILED, NOT_AN_ID, UNKNOWN_USER, Dispatcher
from idlbot.config import Settings
from idlbot.domain.chat import InvalidUserId, MattermostUser, UnknownUser, UserTimezone

ALICE_ID = "a" * 26
SSTOBER_ID = "s" * 26
VIAS: list[Via] = ["slash", "dm", "mention"]


class Lookup:
    """A user lookup that answers from `users`, or raises `error`; it counts its calls."""

    def __init__(self, error: Exception | None = None, answer_id: str | None = None) -> None:
        self.error = error
        self.answer_id = answer_id
        self.calls: list[str] = []
        self.users = {
            ALICE_ID: MattermostUser(ALICE_ID, "alice", UserTimezone(False, "", "America/New_York")),
            SSTOBER_ID: MattermostUser(SSTOBER_ID, "sstober"),
        }

    async def __call__(self, user_id: str) -> MattermostUser:
        self.calls.append(user_id)
        if self.error is not None:
            raise self.error
        if user_id not in self.users:
            raise UnknownUser(user_id)
        found = self.users[user_id]
        return found if self.answer_id is None else self.users[self.answer_id]


def dispatcher(settings: Settings, lookup: Lookup) -> Dispatcher:
    return Dispatcher(
        build_registry(),
        lookup_user=lookup,
        course=settings.course,
        instructors=settings.roles.instructors,
        tutors=settings.roles.tutors,
        clock=FakeClock(datetime(2018, 10, 22, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))),
        ports=Ports(),
    )


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("forged", ["../users/username/sstober", "me", "", "S" * 26, "s" * 25])
async def test_an_id_of_another_shape_is_refused_unlooked(settings: Settings, via: Via, forged: str) -> None:
    lookup = Lookup()
    reply = await dispatcher(settings, lookup).run(forged, "chan1", "whoami", via, "sstober")
    assert reply.text == NOT_AN_ID and reply.ephemeral
    assert lookup.calls == []


@pytest.mark.parametrize("via", VIAS)
async def test_an_unknown_id_is_refused_whatever_the_form_says(settings: Settings, via: Via) -> None:
    reply = await dispatcher(settings, Lookup()).run("y" * 26, "chan1", "whoami", via, "sstober")
    assert reply.text == UNKNOWN_USER


@pytest.mark.parametrize(
    "error", [TimeoutError(), ConnectionError("refused"), RuntimeError("503"), InvalidUserId("x")]
)
async def test_a_failed_lookup_runs_nothing(settings: Settings, error: Exception) -> None:
    reply = await dispatcher(settings, Lookup(error)).run(ALICE_ID, "chan1", "whoami", "slash", "sstober")
    expected = UNKNOWN_USER if isinstance(error, InvalidUserId) else LOOKUP_FAILED
    assert reply.text == expected
    assert "sstober" not in reply.text and "instructor" not in reply.text


async def test_an_answer_about_another_account_is_not_believed(settings: Settings) -> None:
    lookup = Lookup(answer_id=SSTOBER_ID)
    reply = await dispatcher(settings, lookup).run(ALICE_ID, "chan1", "whoami", "dm")
    assert reply.text == UNKNOWN_USER


async def test_the_role_and_zone_come_from_the_lookup_not_the_form(settings: Settings) -> None:
    d = dispatcher(settings, Lookup())
    reply = await d.run(ALICE_ID, "chan1", "whoami", "slash", "sstober")
    assert reply.text.startswith("You are @alice, a student.")
    assert "time zone America/New_York" in reply.text
    assert (await d.run(SSTOBER_ID, "chan1", "whoami", "mention")).text.startswith(
        "You are @sstober, an instructor."
    )


async def test_the_asker_is_worked_out_again_whenever_the_lookup_answers_anew(settings: Settings) -> None:
    """The dispatcher keeps each asker's User only while the lookup (whose cache lasts
    minutes) answers with the same record: a rename or a new time zone shows at once."""
    lookup = Lookup()
    bot = dispatcher(settings, lookup)
    first = await bot.user(ALICE_ID)
    assert await bot.user(ALICE_ID) is first
    lookup.users[ALICE_ID] = MattermostUser(ALICE_ID, "alice", UserTimezone(False, "", "Asia/Tokyo"))
    moved = await bot.user(ALICE_ID)
    assert moved.tz == ZoneInfo("Asia/Tokyo") and first.tz == ZoneInfo("America/New_York")
    lookup.users[ALICE_ID] = MattermostUser(ALICE_ID, "sstober")  # the instructor's name, now hers
    assert (await bot.user(ALICE_ID)).role > moved.role
    lookup.answer_id = SSTOBER_ID  # a lookup that answers about someone else is still refused
    reply = await bot.run(ALICE_ID, "chan1", "whoami", "slash")
    assert reply.text == UNKNOWN_USER
