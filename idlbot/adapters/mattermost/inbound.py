"""Posts that reach the bot: DMs and @-mentions, live or recovered after a gap.

Each post is handled once, even when it arrives on the websocket and again in the
re-sync after a reconnect (or in two bot processes): the reply goes through the outbox
under the key `reply:<post id>`, and the post is then recorded as handled.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from idlbot.adapters.mattermost.payloads import MalformedPayload, Post, parse_posted
from idlbot.clock import Clock
from idlbot.commands.context import Via
from idlbot.commands.dispatch import Dispatcher
from idlbot.commands.reply import Reply
from idlbot.ports.outbox import Outbox
from idlbot.storage.handled import SqlCursors, SqlHandledPosts
from idlbot.tasks import TaskPool

log = logging.getLogger(__name__)

GLOBAL_CURSOR = "*"

DmChannels = Callable[[], Awaitable[list[str]]]
PostsSince = Callable[[str, int], Awaitable[list[Post]]]


class Inbound:
    def __init__(
        self,
        *,
        bot_user_id: str,
        bot_username: str,
        dispatcher: Dispatcher,
        outbox: Outbox,
        handled: SqlHandledPosts,
        cursors: SqlCursors,
        tasks: TaskPool,
        clock: Clock,
        list_dm_channels: DmChannels,
        posts_since: PostsSince,
        wake_outbox: Callable[[], None],
    ) -> None:
        self.bot_user_id = bot_user_id
        self.bot_username = bot_username
        self._mention = re.compile(rf"(?<![\w@])@{re.escape(bot_username)}\b", re.IGNORECASE)
        self._dispatcher = dispatcher
        self._outbox = outbox
        self._handled = handled
        self._cursors = cursors
        self._tasks = tasks
        self._clock = clock
        self._list_dm_channels = list_dm_channels
        self._posts_since = posts_since
        self._wake_outbox = wake_outbox
        self._in_progress: set[str] = set()
        # Cursors hold the server's post timestamps (create_at), not our clock's time, so
        # the fallback for a first start is the host's wall clock, not the injected clock.
        self.started_ms = int(time.time() * 1000)

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

    async def handle_post(self, post: Post, channel_type: str) -> None:
        addressed = self._addressed(post, channel_type)
        if addressed is None or post.id in self._in_progress:
            return
        if channel_type == "D":
            await self._cursors.advance(post.channel_id, post.create_at)
            await self._cursors.advance(GLOBAL_CURSOR, post.create_at)
        if await self._handled.is_handled(post.id):
            return
        self._in_progress.add(post.id)
        try:
            via, text = addressed
            reply = await self._dispatcher.run(post.user_id, post.channel_id, text or "help", via)
            await self._send(reply, post, via)
            await self._handled.claim(post.id, post.channel_id, self._clock.now())
        finally:
            self._in_progress.discard(post.id)

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

    async def resync(self) -> None:
        """After a (re)connect: handle DMs posted while the websocket was down."""
        fallback = await self._cursors.get(GLOBAL_CURSOR)
        since_default = fallback if fallback is not None else self.started_ms
        recovered = 0
        for channel_id in await self._list_dm_channels():
            cursor = await self._cursors.get(channel_id)
            since = cursor if cursor is not None else since_default
            for post in await self._posts_since(channel_id, since):
                if post.create_at <= since or post.delete_at:
                    continue
                recovered += 1
                await self.handle_post(post, "D")
        if recovered:
            log.info(
                "re-sync handled %d posts from the gap",
                recovered,
                extra={"event": "resync", "outcome": "ok", "count": recovered},
            )
