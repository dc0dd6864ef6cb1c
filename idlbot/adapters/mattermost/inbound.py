"""Posts that reach the bot: DMs and @-mentions, live or recovered after a gap.

Each post is answered once, even when it arrives on the websocket and again in the
re-sync after a reconnect (or in two bot processes): the reply goes through the outbox
under the key `reply:<post id>`, and the post is then recorded as handled. A channel's
re-sync cursor passes a post only after that, so a `kill -9` while a reply is being
computed leaves the post to the next start's re-sync (see `progress.py` for the rule).

Cursor moves wait up to `CURSOR_DELAY` in memory and are saved together. A cursor only
bounds what a re-sync fetches again; what it fetches is checked against the handled posts
(and the bot's own posts are skipped), so a move lost to a `kill -9` costs a re-fetch,
never a second answer. Saving each move at once cost a transaction per post, most of them
for the bot's own echoes: one per DM it sends (1.4 ms of the event loop per overview, in
the benchmark's profile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Literal, Protocol

from idlbot.adapters.mattermost.payloads import ChannelRef, MalformedPayload, Post, parse_posted
from idlbot.adapters.mattermost.progress import Progress
from idlbot.adapters.mattermost.resync import Resync, host_now_ms
from idlbot.backoff import backoff_delay
from idlbot.clock import Clock
from idlbot.commands.context import Via
from idlbot.commands.reply import Reply
from idlbot.ports.outbox import Outbox
from idlbot.storage.handled import SqlCursors, SqlHandledPosts
from idlbot.tasks import TaskPool

log = logging.getLogger(__name__)

#: tries of a post whose answer failed (a database or server error), the waits doubling
#: from RETRY_BASE seconds (with jitter, at most RETRY_CAP): 2.5 to 5 minutes in all, long
#: enough for a database failover; after that the next re-sync tries again
RETRIES = 6
RETRY_BASE = 10.0
RETRY_CAP = 300.0
#: seconds a cursor move waits in memory, so that a burst (a fan-out's echoes, a re-sync)
#: is saved in one transaction
CURSOR_DELAY = 1.0
#: seconds the stop lets a cursor save under way finish
SAVE_GRACE = 0.5

Outcome = Literal["done", "failed", "busy"]
MemberChannels = Callable[[], Awaitable[list[ChannelRef]]]
PostsSince = Callable[[str, int], Awaitable[list[Post]]]


class RunsCommands(Protocol):
    """A `Dispatcher`, or the course router of a deployment of several courses."""

    async def run(
        self,
        user_id: str,
        channel_id: str,
        text: str,
        via: Via,
        username_hint: str | None = None,
        *,
        message_id: str | None = None,
    ) -> Reply: ...


class Inbound:
    def __init__(
        self,
        *,
        bot_user_id: str,
        bot_username: str,
        dispatcher: RunsCommands,
        outbox: Outbox,
        handled: SqlHandledPosts,
        cursors: SqlCursors,
        tasks: TaskPool,
        clock: Clock,
        list_channels: MemberChannels,
        posts_since: PostsSince,
        wake_outbox: Callable[[], None],
        resync_window: timedelta = timedelta(hours=24),
        server_now_ms: Callable[[], int] = host_now_ms,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        cursor_delay: float = CURSOR_DELAY,
    ) -> None:
        """`sleep` waits between retries of a failed post (tests pass one they control).
        `cursor_delay`: see CURSOR_DELAY; tests that read cursors call `save_cursors`."""
        self.bot_user_id = bot_user_id
        self.bot_username = bot_username
        self._mention = re.compile(rf"(?<![\w@])@{re.escape(bot_username)}\b", re.IGNORECASE)
        self._dispatcher = dispatcher
        self._outbox = outbox
        self._handled = handled
        self._cursors = cursors
        self._tasks = tasks
        self._clock = clock
        self._wake_outbox = wake_outbox
        self._progress = Progress()
        self._retries = TaskPool()
        self._sleep = sleep
        self._written: dict[str, int] = {}  # the cursor values this process has stored
        self._unsaved: dict[str, int] = {}  # cursor moves not stored yet, each past _written
        self._cursor_delay = cursor_delay
        self._saver: asyncio.Task[None] | None = None
        self._stopping = False
        self._stop_saving = asyncio.Event()
        self._resync = Resync(
            list_channels=list_channels,
            posts_since=posts_since,
            cursors=cursors,
            progress=self._progress,
            handle=self.handle_post,
            advance=self._advance,
            window=resync_window,
            server_now_ms=server_now_ms,
        )

    # -- websocket side: parse and spawn only ----------------------------------------
    def on_event(self, frame: dict[str, Any]) -> None:
        try:
            posted = parse_posted(frame)
        except MalformedPayload as err:
            log.warning("%s; ignored", err)
            return
        if posted is not None:
            post = posted.post
            self._tasks.spawn(self.handle_post(post, posted.channel_type), origin=f"post {post.id}")

    # -- the work ----------------------------------------------------------------------
    def _addressed(self, post: Post, channel_type: str) -> tuple[Via, str] | None:
        """(via, command text) if the post is for the bot, else None."""
        if post.user_id == self.bot_user_id or post.type:
            return None  # our own echo, or a system message (joins, header changes)
        if channel_type == "D":
            return "dm", self._mention.sub("", post.message).strip()
        if self._mention.search(post.message):
            return "mention", self._mention.sub("", post.message).strip()
        return None

    async def handle_post(self, post: Post, channel_type: str) -> bool:
        """Answer the post unless it is not for the bot or already answered; True once it is
        durably done. A failure is logged and leaves the post unfinished: the cursor stays
        below it, it is tried again after a backoff (`RETRIES` times in all), and in any
        case by the next re-sync (after a reconnect or a restart)."""
        outcome = await self._try(post, channel_type, attempt=1)
        if outcome == "failed" and not self._retries.in_flight(post.id):
            self._retries.spawn(self._retry(post, channel_type), origin=f"retry post {post.id}", key=post.id)
        return outcome == "done"

    async def _retry(self, post: Post, channel_type: str) -> None:
        for attempt in range(2, RETRIES + 1):
            await self._sleep(backoff_delay(attempt - 2, base=RETRY_BASE, cap=RETRY_CAP))
            if await self._try(post, channel_type, attempt=attempt) != "failed":
                return

    async def _try(self, post: Post, channel_type: str, *, attempt: int) -> Outcome:
        """One try; "busy" when another task is on the post (that one moves the cursor)."""
        if not self._progress.start(post.channel_id, post.id, post.create_at):
            return "busy"
        finished = False
        try:
            await self._answer(post, channel_type)
            finished = True
        except Exception:  # any failure: the post is retried, never skipped
            log.exception(
                "post %s not answered (attempt %d of %d)",
                post.id,
                attempt,
                RETRIES,
                extra={"event": "inbound", "outcome": "failed"},
            )
        finally:  # also on cancellation: an unfinished post must not stay "in flight" forever
            if finished:
                self._progress.finish(post.channel_id, post.id)
            else:
                self._progress.fail(post.channel_id, post.id)
        if not finished:
            return "failed"
        await self._advance(post.channel_id)
        return "done"

    async def stop(self) -> None:
        """Cancel the pending retries (the next start's re-sync takes those posts up) and
        the timed cursor save. Posts still being answered keep moving cursors in memory;
        `close` saves them, once the bot has drained its tasks."""
        self._stopping = True
        self._stop_saving.set()  # a save under way may finish: one short transaction
        await self._retries.stop()
        saver = self._saver
        if saver is not None:
            await asyncio.wait({saver}, timeout=SAVE_GRACE)
            saver.cancel()  # a database that hangs does not hold the stop (the moves stay)
            await asyncio.wait({saver})

    async def close(self) -> None:
        """The last save of the cursor moves, at stop."""
        await self.save_cursors()

    async def _answer(self, post: Post, channel_type: str) -> None:
        addressed = self._addressed(post, channel_type)
        if addressed is None or await self._handled.is_handled(post.id):
            return
        via, text = addressed
        # the post's id: answering the same post twice (a retry, two replicas) answers alike
        reply = await self._dispatcher.run(
            post.user_id, post.channel_id, text or "help", via, message_id=post.id
        )
        await self._send(reply, post, via)  # durable from here: the outbox row holds the reply
        await self._handled.claim(post.id, post.channel_id, self._clock.now())

    async def _advance(self, channel_id: str) -> None:
        """Move the channel's cursor as far as `Progress` allows, if that is further; it is
        stored by the next save (within CURSOR_DELAY)."""
        safe = self._progress.safe_cursor(channel_id)
        if safe is None or safe <= self._unsaved.get(channel_id, self._written.get(channel_id, -1)):
            return
        self._unsaved[channel_id] = safe
        if self._saver is None and not self._stopping:
            self._saver = asyncio.get_running_loop().create_task(self._save_later(), name="cursor save")

    async def _save_later(self) -> None:
        """Save every CURSOR_DELAY while moves come in; after a failed save, wait for the
        next move (a database that is down is not asked every second for nothing)."""
        try:
            saved = True
            while self._unsaved and saved:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_saving.wait(), self._cursor_delay)
                if self._stopping:
                    return  # `close` saves, after the replies still running
                saved = await self.save_cursors()
        finally:
            self._saver = None

    async def save_cursors(self) -> bool:
        """Store the cursor moves waiting in memory, in one transaction; False if the
        database failed. Then they wait for the next save, and meanwhile a re-sync only
        fetches a little more again (see the module's docstring)."""
        unsaved, self._unsaved = self._unsaved, {}
        if not unsaved:
            return True
        try:
            await self._cursors.advance_many(unsaved)
        except BaseException as err:  # also a cancel mid-save: the moves stay in memory
            for channel_id, at in unsaved.items():
                self._unsaved[channel_id] = max(at, self._unsaved.get(channel_id, -1))
            if not isinstance(err, Exception):
                raise
            log.warning(
                "re-sync cursor moves not saved (%d channels; %s: %s); kept for the next save",
                len(unsaved),
                type(err).__name__,
                " ".join(str(err).split())[:200],  # SQLAlchemy's quote the statement, rows
                extra={"event": "inbound", "outcome": "cursor_not_saved"},
            )
            return False
        for channel_id, at in unsaved.items():
            self._written[channel_id] = max(at, self._written.get(channel_id, -1))
        return True

    async def _send(self, reply: Reply, post: Post, via: Via) -> None:
        key = f"reply:{post.id}"
        user_id, channel_id = post.user_id, post.channel_id
        now = self._clock.now()
        if via == "dm":
            await self._outbox.enqueue(
                key=key, message=reply.text, now=now, channel_id=channel_id, props=reply.props
            )
        elif reply.ephemeral:
            # the bot cannot post ephemerally (403 for non-admin bots): private answers go by DM
            await self._outbox.enqueue(
                key=key, message=reply.text, now=now, dm_user_id=user_id, props=reply.props
            )
        else:
            root = post.root_id or post.id
            await self._outbox.enqueue(
                key=key, message=reply.text, now=now, channel_id=channel_id, root_id=root, props=reply.props
            )
        self._wake_outbox()

    def open_gap(self) -> None:
        """Call first thing on each websocket (re)connect, before any event of the new
        connection is handled: until the re-sync has listed a channel, no cursor moves."""
        self._progress.open_gap()

    async def resync(self) -> None:
        """After a (re)connect or at start: answer the DMs and @-mentions posted meanwhile.
        It starts from the stored cursors, so the moves waiting in memory are saved first."""
        self._progress.open_gap()
        await self.save_cursors()
        await self._resync.run()
