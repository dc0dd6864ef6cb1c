"""Text we did not write, through the whole bot: no mention the server would find, no link.

Each entry point of foreign text gets hostile input: the spellings the server's parser
still reads as channel-wide (`@channel_`, `@ALL_`, `@here_`), a user (`@alice`), a group
(`@tutors`), and Markdown that turns into a link (`\\[x\\](http://evil.example)`, a bare
URL). The assertion is the simulator's per-post mention record (the server's parser, see
devtools/sim/mm_mentions.py) and the post rendered with cmark-gfm.
"""

from __future__ import annotations

from typing import Any

from idlbot.adapters.mattermost.rest import KEY_PROP
from idlbot.clock import FakeClock
from idlbot.devtools.demo import DEMO_START
from idlbot.devtools.sim.mm_mentions import Mentions, parse_post
from idlbot.domain.ledger import Student
from tests.app.conftest import Harness, eventually, make_harness
from tests.support.foreign import HOSTILE, assert_no_mention
from tests.support.markdown import links, tags

GROUP_CHANNEL = "exercise-group-1"


def hostile_in(h: Harness) -> None:
    """A user and a group the server would notify, so that a leak shows as a keyword."""
    h.sim.add_group("tutors", {h.uid("tutor1")})


def assert_safe(found: Mentions, message: str) -> None:
    assert not any("evil" in target for target in links(message)), message
    assert_no_mention(found, message)


def posts_keyed(h: Harness, channel: str, prefix: str) -> list[dict[str, Any]]:
    posts = h.bot_posts(h.channel(channel))
    return [p for p in posts if str(p["props"].get(KEY_PROP, "")).startswith(prefix)]


async def test_a_tutors_announcement_with_notify_none_reaches_nobody(harness: Harness) -> None:
    hostile_in(harness)
    done = await harness.answer("tutor1", f"/idl announce --notify none --yes {HOSTILE}")
    assert "on its way" in done, done
    [post] = await eventually(lambda: posts_keyed(harness, GROUP_CHANNEL, "announce:"), what="the post")
    assert "evil" in post["message"]  # the text is there, as text
    assert_safe(harness.sim.mentions_of(post), post["message"])
    assert tags(post["message"]) <= {"p"}


async def test_a_tutors_reminder_text_reaches_nobody(db_url: str) -> None:
    clock = FakeClock(DEMO_START)
    h = await make_harness(db_url)
    h.clock = lambda: clock
    try:
        bot = await h.start_bot()
        hostile_in(h)
        await eventually(lambda: bot.periodic.manual, what="the driver to hand over to the test")
        added = await h.answer("tutor1", f"/idl remind add in 1h group1 {HOSTILE}\n# heading\n| a |\n|---|")
        assert added.startswith("Reminder 1 set:"), added
        clock.advance(hours=1, minutes=1)
        await bot.reminder_runner.run_due(clock.now())
        await h.drained()
        [post] = posts_keyed(h, GROUP_CHANNEL, "rem:custom:")
        assert "evil" in post["message"]
        assert_safe(h.sim.mentions_of(post), post["message"])
        assert tags(post["message"]) <= {"p"}
    finally:
        await h.close()


async def test_gitlab_titles_in_the_live_and_the_frozen_agenda(db_url: str) -> None:
    h = await make_harness(db_url, gitlab=True)
    try:
        gl = h.gitlab
        assert gl is not None and h.settings.gitlab is not None
        project = h.settings.gitlab.project
        for title in ("@ALL_ please look", "\\[x\\](http://evil.example)", "ask @alice or @tutors"):
            gl.add_issue(project, title, author="alice", labels=["question"])
        await h.start_bot()
        hostile_in(h)
        live = await h.answer("sstober", "/idl agenda")
        await h.answer("sstober", "/idl agenda freeze")
        channel = h.settings.mattermost.channels[h.settings.agenda.channel]
        [post] = await eventually(lambda: posts_keyed(h, channel, "agenda:"), timeout=10, what="agenda post")
        message = str(post["message"])
        assert "please look" in message and "evil" in message
        assert all(target.startswith(gl.url) for target in links(message)), links(message)
        assert_safe(h.sim.mentions_of(post), message)
        assert "please look" in live
        assert_safe(parse_post(live, h.sim.state.mention_keywords()), live)
        page = await eventually(
            lambda: next((p for s, p in gl.project(project).wiki.items() if s.startswith("agenda/")), None),
            what="the wiki page",
        )
        assert not any("evil" in target for target in links(page.content))
    finally:
        await h.close()


async def test_a_wiki_page_title_in_the_status_reply(db_url: str) -> None:
    h = await make_harness(db_url, gitlab=True)
    try:
        gl = h.gitlab
        assert gl is not None and h.settings.gitlab is not None
        bot = await h.start_bot()
        hostile_in(h)
        await bot.roster.upsert(Student("alice", "alice", "g1", "lyrics-a"), now=bot.clock.now())
        title = "blog/alice/@channel_ @ALL_ ask @tutors [x](www.evil.example)"
        gl.create_wiki_page(h.settings.gitlab.project, title, "hello", user="alice")

        async def shown() -> str | None:
            text = str((await h.slash("alice", "/idl status"))["text"])
            return text if "ask" in text else None

        text = await eventually(shown, timeout=10, what="the blog post in /idl status")
        assert_safe(parse_post(text, h.sim.state.mention_keywords()), text)
    finally:
        await h.close()


async def test_a_channel_name_typed_into_announce_is_echoed_safely(harness: Harness) -> None:
    hostile_in(harness)
    text = await harness.answer("sstober", "/idl announce --channel @ALL_[x](http://evil.example) --yes Hi")
    assert "There is no channel" in text, text
    assert_safe(parse_post(text, harness.sim.state.mention_keywords()), text)
