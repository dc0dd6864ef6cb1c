"""Posts that reach the bot: DMs and @-mentions, live or recovered after a gap.

Each post is handled once, even when it arrives on the websocket and again in the
re-sync after a reconnect (or in two bot processes): the reply goes through the outbox
under the key `reply:<post id>`, and the post is then recorded as handled.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from idlbot.clock import Clock
from idlbot.commands.dispatch import Dispatcher
from idlbot.commands.reply import Reply
from idlbot.ports.outbox import Outbox
from idlbot.storage.handled import SqlCursors, SqlHandledPosts
from idlbot.tasks import TaskPool

log = logging.getLogger(__name__)

GLOBAL_CURSOR = "*"


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
        list_dm_channels: Any,
        posts_since: Any,
        wake_outbox: Any,
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
        if frame.get("event") != "posted":
            return
        data = frame.get("data") or {}
        try:
            post = json.loads(data["post"])  # posted.data.post is JSON inside JSON
        except (KeyError, TypeError, ValueError):
            log.warning("posted event without a decodable post; ignored")
            return
        channel_type = str(data.get("channel_type", ""))
        self._tasks.spawn(self.handle_post(post, channel_type), origin=f"post {post.get('id')}")

    # -- the work ----------------------------------------------------------------------
    def _addressed(self, post: dict[str, Any], channel_type: str) -> tuple[str, str] | None:
        """(via, command text) if the post is for the bot, else None."""
        if post.get("user_id") == self.bot_user_id or post.get("type"):
            return None  # our own echo, or a system message (joins, header changes)
        message = str(post.get("message", ""))
        if channel_type == "D":
            return "dm", self._mention.sub("", message).strip()
        if self._mention.search(message):
            return "mention", self._mention.sub("", message).strip()
        return None

    async def handle_post(self, post: dict[str, Any], channel_type: str) -> None:
        addressed = self._addressed(post, channel_type)
        post_id = str(post.get("id", ""))
        channel_id = str(post.get("channel_id", ""))
        if addressed is None or not post_id or post_id in self._in_progress:
            return
        if channel_type == "D":
            await self._cursors.advance(channel_id, int(post.get("create_at", 0)))
            await self._cursors.advance(GLOBAL_CURSOR, int(post.get("create_at", 0)))
        if await self._handled.is_handled(post_id):
            return
        self._in_progress.add(post_id)
        try:
            via, text = addressed
            user_id = str(post["user_id"])
            reply = await self._dispatcher.run(user_id, channel_id, text or "help", via)  # type: ignore[arg-type]
            await self._send(reply, post, via, user_id, channel_id)
            await self._handled.claim(post_id, channel_id, self._clock.now())
        finally:
            self._in_progress.discard(post_id)

    async def _send(
        self, reply: Reply, post: dict[str, Any], via: str, user_id: str, channel_id: str
    ) -> None:
        key = f"reply:{post['id']}"
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
            root = str(post.get("root_id") or post["id"])
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
                if int(post.get("create_at", 0)) <= since or post.get("delete_at"):
                    continue
                recovered += 1
                await self.handle_post(post, "D")
        if recovered:
            log.info(
                "re-sync handled %d posts from the gap",
                recovered,
                extra={"event": "resync", "outcome": "ok", "count": recovered},
            )
