"""Housekeeping: forget the dedup records nothing can ask about any more.

Two tables exist only to make something happen once, and both would grow forever:

* `handled_posts` (a post the bot answered), asked about when a post reaches the bot
  twice: on the websocket and again in the re-sync after a reconnect, or in two bot
  processes. The re-sync reads only posts newer than the channel's cursor, and the cursor
  passes a post before it is handled, so a post is asked about within the minutes of one
  reconnect, never weeks later.
* `delivery_keys` (a GitLab webhook delivery already handled), asked about when GitLab
  delivers the same hook again. GitLab never retries by itself; a resend is someone
  pressing "Resend request" in the hook's recent events (or calling the API), which only
  lists the last few days' deliveries, because GitLab prunes its webhook logs.

`RETENTION` (30 days) is far beyond both windows, so pruning never lets a duplicate
through. Even if one came through, nothing breaks: recording a hand-in or a wiki page is
idempotent (the earliest time wins), an agenda hook only triggers one more refresh, and
a re-handled post is answered under the same outbox key, which posts once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from idlbot.ports.housekeeping import Prunable

log = logging.getLogger(__name__)

RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class Pruned:
    """How many rows one pass forgot, per table."""

    handled_posts: int
    delivery_keys: int


class Housekeeping:
    def __init__(
        self, *, handled_posts: Prunable, delivery_keys: Prunable, retention: timedelta = RETENTION
    ) -> None:
        self._handled_posts = handled_posts
        self._delivery_keys = delivery_keys
        self.retention = retention

    async def prune(self, now: datetime) -> Pruned:
        """Delete handled posts and delivery keys older than `now - retention`. Safe to run
        at any interval and from several processes (each row is deleted once)."""
        before = now - self.retention
        pruned = Pruned(
            handled_posts=await self._handled_posts.prune(before),
            delivery_keys=await self._delivery_keys.prune(before),
        )
        log.info(
            "housekeeping: pruned %d handled posts and %d delivery keys older than %s",
            pruned.handled_posts, pruned.delivery_keys, before.isoformat(timespec="seconds"),
            extra={"event": "housekeeping", "outcome": "ok"},
        )  # fmt: skip
        return pruned
