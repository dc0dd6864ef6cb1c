"""The re-sync: after each (re)connect, fetch and answer what the websocket did not bring.

It covers every channel the bot is a member of: DMs (every post is for the bot) and
channels and group messages (only posts that @-mention it). Per channel it reads the posts
after the channel's cursor, oldest first, and hands them to the inbound handler, which
moves the cursor only past posts that are durably done.

Where it starts: the stored cursor, but never before "now minus `resync_window`". On a
first start there is no cursor, and the window is how far back DMs are still answered;
after a long downtime it keeps the bot from answering week-old questions.

Work per reconnect is bounded, so a flood (or a bot added to 500 channels) cannot keep a
reconnect busy for minutes: at most `MAX_CHANNELS` channels with new posts, and at most
`MAX_POSTS` posts per channel. What a bound cuts is logged; the cursor stops before it, so
the next re-sync continues there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from idlbot.adapters.mattermost.payloads import ChannelRef, Post
from idlbot.adapters.mattermost.progress import CAUGHT_UP, Progress
from idlbot.storage.handled import SqlCursors

log = logging.getLogger(__name__)

#: channels fetched per re-sync; a course bot has a DM channel per active user and a
#: handful of course channels, so 200 covers a whole course and still bounds a reconnect
MAX_CHANNELS = 200
#: posts examined per channel and re-sync: the server's largest page, so one busy channel
#: costs about what one page costs and cannot starve the DMs behind it
MAX_POSTS = 200
#: the server returns at most this many posts for one `since` query, the newest ones
SERVER_SINCE_LIMIT = 1000
#: channels fetched at once: a slow server answers a dozen DMs in one round-trip's time,
#: without the re-sync becoming a burst against its rate limit
PARALLEL = 4

Handle = Callable[[Post, str], Awaitable[bool]]
Advance = Callable[[str], Awaitable[None]]


def host_now_ms() -> int:
    """The host's wall clock in ms, as the server stamps `create_at`.

    Not the bot's injected clock: that one may pretend another date (`--pretend-now`,
    the tests' 2018 course), while cursors and `since` compare with the server's own
    timestamps. The host's and the server's clocks agree to NTP precision, seconds at
    worst, which does not matter for a window of hours."""
    return int(time.time() * 1000)


class Resync:
    def __init__(
        self,
        *,
        list_channels: Callable[[], Awaitable[list[ChannelRef]]],
        posts_since: Callable[[str, int], Awaitable[list[Post]]],
        cursors: SqlCursors,
        progress: Progress,
        handle: Handle,
        advance: Advance,
        window: timedelta,
        server_now_ms: Callable[[], int] = host_now_ms,
    ) -> None:
        self._list_channels = list_channels
        self._posts_since = posts_since
        self._cursors = cursors
        self._progress = progress
        self._handle = handle
        self._advance = advance
        self._window_ms = int(window.total_seconds() * 1000)
        self._server_now_ms = server_now_ms

    async def run(self) -> None:
        floor = self._server_now_ms() - self._window_ms
        cursors = await self._cursors.all()
        todo: list[tuple[ChannelRef, int]] = []
        channels = await self._list_channels()
        self._progress.listed(frozenset(c.id for c in channels))
        for channel in channels:
            since = max(cursors.get(channel.id, floor), floor)
            if channel.last_post_at and channel.last_post_at <= since:
                self._progress.seen_until(channel.id, CAUGHT_UP)  # nothing new: no fetch
            else:
                todo.append((channel, since))
        # DMs first (every post in them is for the bot), then the longest-waiting channels
        todo.sort(key=lambda item: (item[0].type != "D", item[1]))
        if len(todo) > MAX_CHANNELS:
            log.warning(
                "re-sync bound: %d channels have new posts, %d fetched now, the rest at the next re-sync",
                len(todo), MAX_CHANNELS,
                extra={"event": "resync", "outcome": "bounded", "count": len(todo) - MAX_CHANNELS},
            )  # fmt: skip
            todo = todo[:MAX_CHANNELS]
        gate = asyncio.Semaphore(PARALLEL)

        async def one(channel: ChannelRef, since: int) -> int:
            async with gate:
                return await self._channel(channel, since)

        counts = await asyncio.gather(*(one(c, s) for c, s in todo))
        if sum(counts):
            log.info(
                "re-sync handled %d posts from the gap",
                sum(counts),
                extra={"event": "resync", "outcome": "ok", "count": sum(counts)},
            )

    async def _channel(self, channel: ChannelRef, since: int) -> int:
        """Hand the channel's new posts to the handler, oldest first; how many were new."""
        fetched = await self._posts_since(channel.id, since)
        if len(fetched) >= SERVER_SINCE_LIMIT:
            log.warning(
                "re-sync: channel %s returned the server's limit of %d posts; older ones are not seen",
                channel.id, SERVER_SINCE_LIMIT,
                extra={"event": "resync", "outcome": "truncated"},
            )  # fmt: skip
        posts = [p for p in fetched if p.create_at > since]
        if len(posts) > MAX_POSTS:
            log.warning(
                "re-sync bound: channel %s has %d new posts, %d examined now, the rest at the next re-sync",
                channel.id, len(posts), MAX_POSTS,
                extra={"event": "resync", "outcome": "bounded", "count": len(posts) - MAX_POSTS},
            )  # fmt: skip
            horizon = posts[MAX_POSTS].create_at - 1  # just below the first one left for later
            posts = posts[:MAX_POSTS]
        else:
            horizon = CAUGHT_UP  # the listing had everything; later posts come live
        for post in posts:
            if not post.delete_at:
                await self._handle(post, channel.type)
        self._progress.seen_until(channel.id, horizon)
        await self._advance(channel.id)
        return len(posts)
