"""AnnouncementService: drafts, confirmation, scheduling.

An announcement is a row first (a draft), and a post only when its author confirms: by
`--yes`, by `/idl announce confirm <id>`, or by the **Post** button on the ephemeral
preview. Confirming moves the row out of `draft` with a conditional UPDATE, so two clicks
make one post; the post itself goes through the outbox under `announce:<id>`, so a retry
after a crash is a no-op there too. Scheduled ones are enqueued by `due(now)`, which the
app calls periodically; enqueue first, then mark, so a crash in between repeats only the
(idempotent) enqueue.

Mattermost's action POST (an interactive button's click) carries no token: each button carries the row
id and an HMAC of it under the bot's secret, compared in constant time, and the clicking
user must be the author.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from idlbot.domain.announce import Announcement, Notify
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import UserError
from idlbot.ports.announce import ChannelResolver, Draft
from idlbot.ports.channels import ChannelChecker
from idlbot.ports.outbox import Outbox
from idlbot.services.channel_check import from_resolver, postable_channel

log = logging.getLogger(__name__)

DRAFT_TTL = timedelta(hours=1)
ACTION_PATH = "/mattermost/action"


class AnnouncementStore(Protocol):
    async def add_draft(
        self,
        *,
        channel_id: str,
        channel_name: str,
        text: str,
        notify: Notify,
        post_at: datetime | None,
        by: str,
        by_id: str,
        token: str,
        now: datetime,
    ) -> Announcement: ...

    async def get(self, announcement_id: int) -> tuple[Announcement, str] | None: ...

    async def transition(
        self, announcement_id: int, *, from_states: tuple[str, ...], to: Any, now: datetime
    ) -> bool: ...

    async def scheduled(self) -> list[Announcement]: ...

    async def due(self, now: datetime) -> list[Announcement]: ...


class AnnouncementService:
    """The `Announcements` port. `channels` maps purposes to channel names (so `--channel
    announcements` works); `public_url` is where Mattermost reaches our web app."""

    def __init__(
        self,
        store: AnnouncementStore,
        outbox: Outbox,
        channel_id: ChannelResolver,
        *,
        secret: bytes,
        public_url: str,
        channels: Mapping[str, str] | None = None,
        check_channel: ChannelChecker | None = None,
    ) -> None:
        """`check_channel` asks Mattermost afresh when a draft is made (the app passes the
        adapter's); without it, `channel_id` is used."""
        if not secret:
            raise ValueError("the action secret must not be empty")
        self._store = store
        self._outbox = outbox
        self._secret = secret
        self._url = public_url.rstrip("/") + ACTION_PATH
        self._channels = dict(channels or {})
        self._check = check_channel or from_resolver(channel_id)

    def channel_name(self, typed: str) -> str:
        """A purpose from [mattermost.channels] or a channel name, as a channel name."""
        name = typed.removeprefix("~").lower()
        return self._channels.get(name, name)

    def _sign(self, announcement_id: int, token: str) -> str:
        return hmac.new(
            self._secret, f"announce:{announcement_id}:{token}".encode(), hashlib.sha256
        ).hexdigest()

    async def prepare(
        self,
        *,
        channel_name: str,
        text: str,
        notify: Notify,
        post_at: datetime | None,
        by: str,
        by_id: str,
        now: datetime,
    ) -> Draft:
        name = self.channel_name(channel_name)
        channel_id = await postable_channel(self._check, name, purposes=self._channels)
        token = secrets.token_hex(16)
        a = await self._store.add_draft(
            channel_id=channel_id, channel_name=name, text=text, notify=notify, post_at=post_at,
            by=by, by_id=by_id, token=token, now=now,
        )  # fmt: skip
        return Draft(a, self._buttons(a.id, token))

    def _buttons(self, announcement_id: int, token: str) -> dict[str, object]:
        signature = self._sign(announcement_id, token)

        def button(action_id: str, name: str, style: str) -> dict[str, object]:
            context = {"action": action_id, "announcement": announcement_id, "token": token, "sig": signature}
            return {
                "id": action_id,
                "type": "button",
                "name": name,
                "style": style,
                "integration": {"url": self._url, "context": context},
            }

        return {
            "attachments": [
                {"actions": [button("post", "Post", "primary"), button("discard", "Cancel", "default")]}
            ]
        }

    async def confirm(self, announcement_id: int, *, by_id: str, now: datetime) -> Announcement:
        found = await self._store.get(announcement_id)
        if found is None or found[0].created_by_id != by_id:
            raise UserError(f"You have no announcement {announcement_id} to confirm.")
        a = found[0]
        if a.state != "draft":
            raise UserError(f"Announcement {announcement_id} is already {a.state}.")
        if now - a.created_at > DRAFT_TTL:
            await self._store.transition(a.id, from_states=("draft",), to="cancelled", now=now)
            raise UserError(
                f"Announcement {announcement_id} waited over an hour for confirmation; start again."
            )
        scheduled = a.post_at is not None and a.post_at > now
        target = "scheduled" if scheduled else "queued"
        if not await self._store.transition(a.id, from_states=("draft",), to=target, now=now):
            raise UserError(f"Announcement {announcement_id} was confirmed or cancelled meanwhile.")
        if not scheduled:
            await self._enqueue(a, now)
        log.info("announcement %d %s by %s", a.id, target, a.created_by)
        found = await self._store.get(a.id)
        return found[0] if found is not None else a

    async def _enqueue(self, a: Announcement, now: datetime) -> None:
        await self._outbox.enqueue(key=a.key, message=a.message, now=now, channel_id=a.channel_id)

    async def scheduled(self) -> list[Announcement]:
        return await self._store.scheduled()

    async def cancel(self, announcement_id: int, *, now: datetime) -> Announcement:
        found = await self._store.get(announcement_id)
        if found is None:
            raise UserError(f"There is no announcement {announcement_id}.")
        if not await self._store.transition(
            announcement_id, from_states=("draft", "scheduled"), to="cancelled", now=now
        ):
            if found[0].state == "cancelled":
                raise UserError(f"Announcement {announcement_id} is already cancelled.")
            raise UserError(
                f"Announcement {announcement_id} is {found[0].state}; "
                "only drafts and scheduled ones can be cancelled."
            )
        found = await self._store.get(announcement_id)
        assert found is not None
        return found[0]

    async def due(self, now: datetime) -> int:
        """Enqueue every scheduled announcement whose time has come; the count enqueued.
        Late ones (the bot was down) still go out: an announcement is not a reminder whose
        moment passed, and the author asked for it to be posted."""
        count = 0
        for a in await self._store.due(now):
            await self._enqueue(a, now)
            await self._store.transition(a.id, from_states=("scheduled",), to="queued", now=now)
            count += 1
        return count

    # --- the button --------------------------------------------------------------------
    async def handle_action(self, payload: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        """One click; the response body for Mattermost (`update` and/or `ephemeral_text`).
        Raises PermissionError when the signature does not verify."""
        context = payload.get("context")
        if not isinstance(context, Mapping):
            raise PermissionError("no context")
        raw, token, sig = context.get("announcement"), context.get("token"), context.get("sig")
        # Mattermost keeps `context` as Go interface{} values: numbers may come back as 1.0.
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if not isinstance(raw, int) or not isinstance(token, str) or not isinstance(sig, str):
            raise PermissionError("malformed context")
        raw_id = raw
        if not hmac.compare_digest(self._sign(raw_id, token).encode(), sig.encode()):
            raise PermissionError("bad signature")
        found = await self._store.get(raw_id)
        if found is None or not hmac.compare_digest(found[1].encode(), token.encode()):
            raise PermissionError("unknown announcement")
        user_id = str(payload.get("user_id", ""))
        try:
            if context.get("action") == "post":
                a = await self.confirm(raw_id, by_id=user_id, now=now)
                verb = "scheduled" if a.state == "scheduled" else "posted"
                done = f"Announcement {a.id} {verb} to ~{defuse(a.channel_name)}."
            else:
                if found[0].created_by_id != user_id:
                    raise UserError(f"You have no announcement {raw_id} to cancel.")
                await self.cancel(raw_id, now=now)
                done = f"Announcement {raw_id} discarded."
        except UserError as err:
            return {"ephemeral_text": str(err)}
        return {"update": {"message": done, "props": {}}, "ephemeral_text": done}
