"""Inbound's cursor rule on the real stores (SQLite and PostgreSQL): a channel's cursor
passes a post only once its reply is in the outbox, never an earlier post still in flight
or failed, and never a gap post the re-sync has not listed yet. The dispatcher is a stand-in
whose replies the test releases one by one; Mattermost is a list of posts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.adapters.mattermost import resync as resync_module
from idlbot.adapters.mattermost.inbound import CURSOR_DELAY, Inbound
from idlbot.adapters.mattermost.payloads import ChannelRef, Post
from idlbot.clock import FakeClock
from idlbot.commands.reply import Reply
from idlbot.storage.db import sessionmaker
from idlbot.storage.handled import SqlCursors, SqlHandledPosts
from idlbot.storage.outbox import SqlOutbox
from idlbot.tasks import TaskPool
from tests.app.conftest import eventually
from tests.support.statements import counting

BOT, ALICE, DM, TOWN = "b" * 26, "a" * 26, "d" * 26, "t" * 26
NOW_MS = 1_800_000_000_000
HOUR_MS = 3_600_000


class Gated:
    """A dispatcher whose reply to a text waits until the test opens its gate; a text in
    `fail_once` raises on its first run (a database or server error mid-reply)."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.fail_once: set[str] = set()
        self.started: dict[str, asyncio.Event] = {}

    def begun(self, text: str) -> asyncio.Event:
        return self.started.setdefault(text, asyncio.Event())

    def gate(self, text: str) -> asyncio.Event:
        return self.gates.setdefault(text, asyncio.Event())

    async def run(
        self,
        user_id: str,
        channel_id: str,
        text: str,
        via: str,
        hint: str | None = None,
        *,
        message_id: str | None = None,
    ) -> Reply:
        self.begun(text).set()
        await self.gate(text).wait()
        if text in self.fail_once:
            self.fail_once.discard(text)
            raise RuntimeError(f"failed while answering {text!r}")
        return Reply.private(f"answer to {text}")


class World:
    def __init__(self, engine: AsyncEngine, cursor_delay: float = CURSOR_DELAY) -> None:
        db = sessionmaker(engine)
        self.dispatcher = Gated()
        self.outbox = SqlOutbox(db)
        self.cursors = SqlCursors(db)
        self.posts: list[Post] = []
        self.channels = [ChannelRef(DM, "D", 0), ChannelRef(TOWN, "O", 0)]
        self.backoff_over = asyncio.Event()  # the test ends a retry's backoff, no clock waits
        self.inbound = Inbound(
            bot_user_id=BOT, bot_username="idlbot", dispatcher=self.dispatcher,  # type: ignore[arg-type]
            outbox=self.outbox, handled=SqlHandledPosts(db), cursors=self.cursors, tasks=TaskPool(),
            clock=FakeClock(datetime(2026, 12, 4, tzinfo=UTC)), list_channels=self.list_channels,
            posts_since=self.posts_since, wake_outbox=lambda: None,
            resync_window=timedelta(hours=24), server_now_ms=lambda: NOW_MS, sleep=self.backoff,
            cursor_delay=cursor_delay,
        )  # fmt: skip

    async def backoff(self, _delay: float) -> None:
        await self.backoff_over.wait()
        self.backoff_over.clear()

    async def list_channels(self) -> list[ChannelRef]:
        return self.channels

    async def posts_since(self, channel_id: str, since: int) -> list[Post]:
        return sorted((p for p in self.posts if p.channel_id == channel_id and p.create_at > since),
                      key=lambda p: p.create_at)  # fmt: skip

    def post(self, text: str, at: int, channel: str = DM) -> Post:
        post = Post(id=f"p{at:024d}"[-26:], channel_id=channel, user_id=ALICE, message=text, create_at=at)
        self.posts.append(post)
        return post

    def live(self, post: Post) -> asyncio.Task[bool]:
        """The websocket's path: one task per post."""
        return asyncio.get_running_loop().create_task(
            self.inbound.handle_post(post, "D" if post.channel_id == DM else "O")
        )

    async def queued(self, post: Post) -> bool:
        return await self.outbox.get(f"reply:{post.id}") is not None

    async def stored(self, channel_id: str) -> int | None:
        """The channel's cursor once the moves waiting in memory are saved: what a re-sync
        would start from (the saves wait up to CURSOR_DELAY; the test does not)."""
        await self.inbound.save_cursors()
        return await self.cursors.get(channel_id)

    async def before(self, post: Post) -> bool:
        """The channel's cursor has not passed `post`: a re-sync would fetch it again."""
        cursor = await self.stored(post.channel_id)
        return cursor is None or cursor < post.create_at

    async def until_started(self, text: str) -> None:
        await self.dispatcher.begun(text).wait()


@pytest.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    w = World(engine)
    await w.inbound.resync()  # connected, nothing missed: live posts may move cursors
    yield w
    await w.inbound.stop()


async def test_the_cursor_waits_until_the_reply_is_queued(world: World) -> None:
    post = world.post("whoami", NOW_MS + 10)
    task = world.live(post)
    await world.until_started("whoami")
    assert await world.before(post)  # a kill -9 now: the re-sync still finds it
    assert not await world.queued(post)
    world.dispatcher.gate("whoami").set()
    assert await task
    assert await world.queued(post)
    assert await world.stored(DM) == post.create_at


async def test_a_later_post_finishing_first_does_not_pass_an_earlier_one(world: World) -> None:
    first, second = world.post("first", NOW_MS + 10), world.post("second", NOW_MS + 20)
    tasks = [world.live(first), world.live(second)]
    await world.until_started("second")
    world.dispatcher.gate("second").set()
    assert await tasks[1]
    assert await world.before(first)  # "first" is still being answered
    world.dispatcher.gate("first").set()
    assert await tasks[0]
    assert await world.stored(DM) == second.create_at


async def test_a_failure_while_answering_leaves_the_post_for_the_next_resync(world: World) -> None:
    first, second = world.post("first", NOW_MS + 10), world.post("second", NOW_MS + 20)
    world.dispatcher.fail_once.add("first")
    world.dispatcher.gate("first").set()
    world.dispatcher.gate("second").set()
    assert not await world.live(first)
    assert await world.live(second)
    assert await world.before(first)
    assert not await world.queued(first)
    await world.inbound.resync()  # the next reconnect
    assert await world.queued(first) and await world.queued(second)
    assert await world.stored(DM) == second.create_at
    backlog, _ = await world.outbox.backlog()
    assert backlog == 2  # each once


async def test_a_failed_answer_is_retried_after_a_backoff(world: World) -> None:
    post = world.post("whoami", NOW_MS + 10)
    world.dispatcher.fail_once.add("whoami")
    world.dispatcher.gate("whoami").set()
    assert not await world.live(post)
    assert not await world.queued(post) and await world.before(post)
    world.backoff_over.set()  # the retry's backoff has passed

    async def stored() -> bool:
        return await world.stored(DM) == post.create_at

    await eventually(stored, what="the retry to answer and move the cursor")
    assert await world.queued(post)


async def test_a_live_post_after_a_reconnect_does_not_pass_the_gap(world: World) -> None:
    world.dispatcher.gate("gap").set()
    world.dispatcher.gate("live").set()
    world.inbound.open_gap()  # reconnected; the re-sync has not listed the channel yet
    gap = world.post("gap", NOW_MS + 10)  # posted while the websocket was down
    live = world.post("live", NOW_MS + 20)
    assert await world.live(live)
    assert await world.before(gap)  # a kill -9 now: "gap" is still ahead
    await world.inbound.resync()
    assert await world.queued(gap) and await world.queued(live)
    assert await world.stored(DM) == live.create_at


async def test_a_channel_newer_than_the_resync_listing_moves_its_cursor(world: World) -> None:
    fresh = "n" * 26  # a DM channel opened after the re-sync listed the bot's channels
    world.dispatcher.gate("hello").set()
    post = Post(id="q" * 26, channel_id=fresh, user_id=ALICE, message="hello", create_at=NOW_MS + 5)
    assert await world.inbound.handle_post(post, "D")
    assert await world.stored(fresh) == post.create_at
    world.inbound.open_gap()  # after a reconnect, until the next listing: unknown again
    later = Post(id="r" * 26, channel_id=fresh, user_id=ALICE, message="hello", create_at=NOW_MS + 9)
    assert await world.inbound.handle_post(later, "D")
    assert await world.stored(fresh) == post.create_at


async def test_first_start_answers_back_to_the_window(engine: AsyncEngine) -> None:
    world = World(engine)
    for text in ("old", "recent", "hi"):
        world.dispatcher.gate(text).set()
    old = world.post("old", NOW_MS - 25 * HOUR_MS)
    recent = world.post("recent", NOW_MS - 23 * HOUR_MS)
    chatter, mention = (
        world.post("hi all", NOW_MS - HOUR_MS, TOWN),
        world.post("@idlbot hi", NOW_MS - 1, TOWN),
    )
    await world.inbound.resync()
    assert not await world.queued(old)
    assert await world.queued(recent)
    assert not await world.queued(chatter) and await world.queued(mention)
    assert await world.stored(DM) == recent.create_at
    assert await world.stored(TOWN) == mention.create_at


async def test_the_bound_on_posts_per_channel_is_logged_and_continued(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(resync_module, "MAX_POSTS", 2)
    world = World(engine)
    posts = [world.post(f"@idlbot q{n}", NOW_MS - 100 + n, TOWN) for n in range(3)]
    for n in range(3):
        world.dispatcher.gate(f"q{n}").set()
    with caplog.at_level(logging.WARNING, logger="idlbot.adapters.mattermost.resync"):
        await world.inbound.resync()
    assert [await world.queued(p) for p in posts] == [True, True, False]
    assert await world.stored(TOWN) == posts[1].create_at
    assert any("re-sync bound" in r.getMessage() for r in caplog.records)
    await world.inbound.resync()
    assert await world.queued(posts[2])
    assert await world.stored(TOWN) == posts[2].create_at


async def test_a_fan_outs_own_echoes_are_saved_in_one_statement(world: World, engine: AsyncEngine) -> None:
    """Each DM the bot sends comes back as a post in its own channel; the cursor moves
    past each. They were saved one transaction per post: 1.4 ms of the event loop per
    overview DM in the benchmark's profile, 500 transactions per fan-out."""
    channels = [f"c{n:025d}" for n in range(40)]
    echoes = [
        Post(id=f"e{n:025d}", channel_id=c, user_id=BOT, message="Your status", create_at=NOW_MS + n)
        for n, c in enumerate(channels)
    ]
    with counting(engine) as statements:
        assert all(await asyncio.gather(*(world.inbound.handle_post(p, "D") for p in echoes)))
        await world.inbound.save_cursors()
    assert len([s for s in statements if "channel_cursors" in s]) == 1
    assert await world.cursors.all() == {p.channel_id: p.create_at for p in echoes}


class FailingOnce(SqlCursors):
    """The real store, whose first save fails as a database that went away does."""

    failed = False

    async def advance_many(self, moves: Mapping[str, int]) -> None:
        if not self.failed:
            self.failed = True
            raise OperationalError("INSERT INTO channel_cursors ...", {}, ConnectionError("gone"))
        await super().advance_many(moves)


async def test_moves_a_failed_save_lost_are_kept_for_the_next_one(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    world = World(engine)
    world.cursors = world.inbound._cursors = FailingOnce(sessionmaker(engine))
    await world.inbound.resync()
    first, second = world.post("whoami", NOW_MS + 1), world.post("help", NOW_MS + 2)
    for post in (first, second):
        world.dispatcher.gate(post.message).set()
    assert await world.inbound.handle_post(first, "D")
    with caplog.at_level(logging.WARNING, logger="idlbot.adapters.mattermost.inbound"):
        assert not await world.inbound.save_cursors()
    assert [r.getMessage()[:51] for r in caplog.records] == [
        "re-sync cursor moves not saved (1 channels; Operati"
    ]
    assert await world.cursors.get(DM) is None
    assert await world.inbound.handle_post(second, "D")
    assert await world.stored(DM) == second.create_at
    await world.inbound.stop()


async def test_the_stop_saves_what_replies_finishing_after_it_moved(world: World) -> None:
    """The bot stops the inbound handler (no more timed saves), drains the replies in
    flight, then closes it: the cursors they moved are saved then."""
    post = world.post("whoami", NOW_MS + 10)
    task = world.live(post)
    await world.until_started("whoami")
    await world.inbound.stop()
    world.dispatcher.gate("whoami").set()
    assert await task
    assert await world.cursors.get(DM) is None
    await world.inbound.close()
    assert await world.cursors.get(DM) == post.create_at


async def test_the_timed_save_saves_on_its_own_and_the_stop_does_not_wait_for_it(
    engine: AsyncEngine,
) -> None:
    """A save waiting for its delay ends with the stop at once (an hour's delay here:
    a stop that waited for it would time the test out); `close` saves."""
    quick = World(engine, cursor_delay=0.0)
    await quick.inbound.resync()
    first = quick.post("whoami", NOW_MS + 1)
    quick.dispatcher.gate("whoami").set()
    assert await quick.inbound.handle_post(first, "D")
    await eventually(lambda: _cursor_is(quick, first), timeout=10, what="the timed save")
    await quick.inbound.stop()

    slow = World(engine, cursor_delay=3600.0)
    await slow.inbound.resync()
    second = slow.post("help", NOW_MS + 2)
    slow.dispatcher.gate("help").set()
    assert await slow.inbound.handle_post(second, "D")
    await asyncio.wait_for(slow.inbound.stop(), timeout=60)
    assert await slow.cursors.get(DM) == first.create_at
    await slow.inbound.close()
    assert await slow.cursors.get(DM) == second.create_at


async def _cursor_is(world: World, post: Post) -> bool:
    return await world.cursors.get(post.channel_id) == post.create_at


class Held(SqlCursors):
    """The real store, whose saves wait until the test lets them through."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(sessionmaker(engine))
        self.entered, self.gate = asyncio.Event(), asyncio.Event()

    async def advance_many(self, moves: Mapping[str, int]) -> None:
        self.entered.set()
        await self.gate.wait()
        await super().advance_many(moves)


async def test_a_save_under_way_at_the_stop_is_let_finish(engine: AsyncEngine) -> None:
    world = World(engine, cursor_delay=0.0)
    held = Held(engine)
    world.cursors = world.inbound._cursors = held
    held.gate.set()
    await world.inbound.resync()
    held.gate.clear()
    post = world.post("whoami", NOW_MS + 1)
    world.dispatcher.gate("whoami").set()
    assert await world.inbound.handle_post(post, "D")
    await held.entered.wait()
    stopping = asyncio.get_running_loop().create_task(world.inbound.stop())
    await asyncio.sleep(0)
    held.gate.set()
    await stopping
    assert await world.cursors.get(DM) == post.create_at
