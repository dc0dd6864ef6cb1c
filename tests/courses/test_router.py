"""Which course a DM or a mention is for (`routing.CourseRouter`), with the stored choice on
both databases and two stand-in courses that answer with their own name."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.clock import FakeClock
from idlbot.commands import build_registry
from idlbot.commands.reply import Reply
from idlbot.domain.chat import MattermostUser
from idlbot.ports.course_choice import CourseRef
from idlbot.routing import CourseRouter
from idlbot.storage.course_choices import SqlCourseChoices
from idlbot.storage.db import sessionmaker

ALICE, BOB, CAROL = "a" * 26, "b" * 26, "c" * 26  # alice: both courses; bob: nlp; carol: none
CHANNEL = "h" * 26


@dataclass
class Chat:
    team_id: str


@dataclass
class Desk:
    name: str
    asked: list[str] = field(default_factory=list)

    async def run(self, user_id: str, channel_id: str, text: str, via: str, hint: str | None = None) -> Reply:
        self.asked.append(text)
        return Reply.private(f"{self.name} answers {text}")


@dataclass
class Unit:
    id: str
    name: str
    members: set[str]
    chat: Chat
    dispatcher: Desk

    async def is_member(self, username: str) -> bool:
        return username in self.members


async def _lookup(user_id: str) -> MattermostUser:
    names = {ALICE: "alice", BOB: "bob", CAROL: "carol"}
    return MattermostUser(id=user_id, username=names[user_id])


def _router(engine: AsyncEngine, teams: dict[str, str] | None = None) -> tuple[CourseRouter, list[Unit]]:
    async def team_of(channel_id: str) -> str | None:
        return (teams or {}).get(channel_id)

    router = CourseRouter(
        build_registry(),
        SqlCourseChoices(sessionmaker(engine)),
        lookup_user=_lookup,
        team_of_channel=team_of,
        clock=FakeClock(datetime(2026, 10, 20, 9, 0, tzinfo=UTC)),
    )
    units = [
        Unit("idl", "IDL", {"alice"}, Chat("team-idl"), Desk("IDL")),
        Unit("nlp", "NLP", {"alice", "bob"}, Chat("team-nlp"), Desk("NLP")),
    ]
    router.units = cast(Any, units)
    return router, units


async def test_a_dm_belongs_to_the_one_course_of_its_sender(engine: AsyncEngine) -> None:
    router, _ = _router(engine)
    reply = await router.run(BOB, CHANNEL, "status", "dm")
    assert reply.text == "NLP answers status"


async def test_a_user_in_two_courses_is_asked_once_and_the_answer_sticks(engine: AsyncEngine) -> None:
    router, (_idl, _nlp) = _router(engine)
    first = await router.run(ALICE, CHANNEL, "status", "dm", message_id="p1")
    assert first.text.startswith("IDL answers status")
    assert "`use nlp`" in first.text and "I ask only once" in first.text
    second = await router.run(ALICE, CHANNEL, "deadlines", "dm", message_id="p2")
    assert second.text == "IDL answers deadlines"  # not asked again
    await router.choose(ALICE, "nlp")
    third = await router.run(ALICE, CHANNEL, "status", "dm")
    assert third.text == "NLP answers status"
    assert await router.current(ALICE, "alice") == CourseRef("nlp", "NLP")
    # a new router (a restart, another replica) reads the same choice
    again, _ = _router(engine)
    assert (await again.run(ALICE, CHANNEL, "status", "dm")).text.startswith("NLP")


async def test_every_answer_to_the_asking_post_asks_and_no_other_does(engine: AsyncEngine) -> None:
    """Two replicas answer the same DM at once (each sees it), or a crash makes it answered
    again: whichever answer is sent asks; the answer to the next post does not."""
    (a, _), (b, _) = _router(engine), _router(engine)
    first = await asyncio.gather(*(r.run(ALICE, CHANNEL, "status", "dm", message_id="p1") for r in (a, b)))
    assert [r.text.count("I ask only once") for r in first] == [1, 1]
    again = await b.run(ALICE, CHANNEL, "status", "dm", message_id="p1")
    assert "I ask only once" in again.text
    assert "I ask only once" not in (await a.run(ALICE, CHANNEL, "status", "dm", message_id="p2")).text


async def test_answering_with_use_first_is_not_asked(engine: AsyncEngine) -> None:
    router, (_idl, _) = _router(engine)
    reply = await router.run(ALICE, CHANNEL, "use nlp", "dm", message_id="p1")
    assert "I ask only once" not in reply.text


async def test_someone_in_no_course_is_answered_by_the_first(engine: AsyncEngine) -> None:
    router, _ = _router(engine)
    assert (await router.run(CAROL, CHANNEL, "help", "dm")).text == "IDL answers help"
    assert await router.current(CAROL, "carol") is None
    assert await router.courses_of("carol") == []


async def test_a_mention_goes_to_the_course_of_its_channels_team(engine: AsyncEngine) -> None:
    router, _ = _router(engine, teams={CHANNEL: "team-nlp"})
    assert (await router.run(ALICE, CHANNEL, "status", "mention")).text == "NLP answers status"
    assert router.for_team("team-idl") is not None and router.for_team("nope") is None
