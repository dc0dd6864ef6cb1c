"""Two courses, one bot (in process), one database, against the Mattermost simulator:
slash commands pick their course by team (and token), roles are per course, a DM
belongs to its sender's one course, a user in two courses is asked once and `use`
sticks across a restart, an @-mention goes by its channel's team, and each course's
periodic passes are leased under their own names. Both databases."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.app.conftest import make_harness
from tests.courses.support import TwoCourses, add_second_course, slash_as


@pytest.fixture
async def two(db_url: str) -> AsyncIterator[TwoCourses]:
    h = await make_harness(db_url)
    try:
        t = await add_second_course(h)
        await t.start_bot()
        yield t
    finally:
        await h.close()


def _bound(t: TwoCourses, url: str) -> str:
    """A link the bot made from `public_url`, whose port 0 (the harness's) is the bound port."""
    return url.replace("127.0.0.1:0/", f"127.0.0.1:{t.h.bot.port}/")


async def _post(t: TwoCourses, form: dict[str, str]) -> tuple[int, dict[str, object]]:
    url = f"http://127.0.0.1:{t.h.bot.port}/mattermost/command"
    async with aiohttp.ClientSession() as http, http.post(url, data=form) as resp:
        return resp.status, await resp.json()


async def test_slash_commands_go_to_their_teams_course_with_its_roles(two: TwoCourses) -> None:
    h = two.h
    in_idl = await h.sim.execute_command(h.uid("carol"), h.channel("town-square"), "/idl whoami")
    in_nlp = await h.sim.execute_command(h.uid("carol"), two.nlp_channel("town-square"), "/idl whoami")
    assert "a student" in str(in_idl["text"])
    assert "a tutor" in str(in_nlp["text"])


async def test_a_token_of_one_team_is_refused_for_another(two: TwoCourses) -> None:
    idl_token = two.idl.secrets.slash_token or ""
    nlp_token = two.nlp.secrets.slash_token or ""
    ok, _ = await _post(two, slash_as(two, "alice", "whoami", team=two.nlp_team_id, token=nlp_token))
    crossed, body = await _post(two, slash_as(two, "alice", "whoami", team=two.nlp_team_id, token=idl_token))
    assert (ok, crossed, body) == (200, 401, {"error": "unauthorized"})


async def test_dms_follow_the_senders_course_and_a_two_course_user_is_asked_once(two: TwoCourses) -> None:
    h = two.h
    bob = await h.dm("bob", "use")
    assert "Introduction to Deep Learning" in bob and "I ask only once" not in bob  # bob: IDL only
    first = await h.dm("alice", "whoami")
    assert first.count("I ask only once") == 1 and "`use nlp`" in first
    second = await h.dm("alice", "whoami")
    assert "I ask only once" not in second
    chosen = await h.dm("alice", "use nlp")
    assert "Natural Language Processing" in chosen
    await h.stop_bot()
    await two.start_bot()  # the choice is the database's
    after = await h.dm("alice", "use")
    assert "Your DMs to me are about **Natural Language Processing** (`nlp`)" in after
    assert "I ask only once" not in after


async def test_a_mention_goes_to_the_course_of_its_channel(two: TwoCourses) -> None:
    h = two.h
    channel = two.nlp_channel("town-square")
    post = await h.sim.user_post(h.uid("carol"), channel, "@idlbot whoami")
    assert "a tutor" in await h.reply_to(post, h.dm_channel("carol"))  # a private answer goes by DM


async def test_each_course_leases_its_own_passes(two: TwoCourses) -> None:
    passes = set(two.h.bot.periodic.singletons)
    assert {"announcements [main]", "announcements [nlp]", "pruning"} <= passes


async def test_calendar_feeds_are_each_courses_own(two: TwoCourses) -> None:
    h = two.h
    feeds = {}
    for course, channel in (("idl", h.channel("town-square")), ("nlp", two.nlp_channel("town-square"))):
        reply = await h.sim.execute_command(h.uid("alice"), channel, "/idl calendar")
        feeds[course] = re.search(r"http://\S+?\.ics", str(reply["text"]))
    async with aiohttp.ClientSession() as http:
        bodies = {}
        for course, found in feeds.items():
            assert found is not None, course
            async with http.get(_bound(two, found[0])) as resp:
                assert resp.status == 200
                bodies[course] = await resp.text()
    assert feeds["idl"] != feeds["nlp"]
    assert (
        "Natural Language Processing" in bodies["nlp"] and "Natural Language Processing" not in bodies["idl"]
    )


async def test_an_announcement_button_posts_in_its_own_courses_team(two: TwoCourses) -> None:
    h = two.h
    preview = await h.sim.execute_command(
        h.uid("sstober"), two.nlp_channel("town-square"), "/idl announce --notify none Room change for NLP"
    )
    action = preview["props"]["attachments"][0]["actions"][0]["integration"]
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            _bound(two, action["url"]), json={"user_id": h.uid("sstober"), "context": action["context"]}
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()
    await h.drained()
    nlp_posts = [p["message"] for p in h.bot_posts(two.nlp_channel("town-square"))]
    idl_posts = [p["message"] for p in h.bot_posts(h.channel("town-square"))]
    assert any("Room change for NLP" in m for m in nlp_posts)
    assert not any("Room change for NLP" in m for m in idl_posts)
