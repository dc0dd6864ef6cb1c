"""The outbox port: every post the bot makes goes through a durable queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from idlbot.domain.attachment import Attachment

OutboxState = Literal["pending", "sending", "sent", "failed"]
"""Where a queued post is: waiting, being posted, posted, or given up."""


class Outbox(Protocol):
    """Durable queue of posts: every post the bot makes goes through it."""

    async def enqueue(
        self,
        *,
        key: str,
        message: str,
        now: datetime,
        channel_id: str | None = None,
        dm_user_id: str | None = None,
        props: dict[str, Any] | None = None,
        root_id: str | None = None,
        files: Sequence[Attachment] = (),
    ) -> bool: ...

    async def enqueue_dms(self, *, items: Sequence[tuple[str, str]], message: str, now: datetime) -> None:
        """The same DM to many users, (key, user id) each, queued in one transaction."""
        ...
