"""How far a channel's re-sync cursor may move, from what this process knows.

A cursor is a promise to the next re-sync: "nothing at or before this `create_at` needs
fetching again". So it may pass a post only once that post is durably done (its reply is
queued in the outbox or the post is recorded as handled, or it is not for the bot), and
never while an earlier post of the channel is still being handled or has failed. Nor may
it pass posts this process has not seen: after a (re)connect, posts of the gap are only
known once the re-sync has listed the channel, so until then a live post that finishes
early moves nothing (its `horizon` is unknown).

Pure bookkeeping, in memory, per process: two bot processes each move a cursor only past
posts they saw finished themselves, and the cursor store only ever moves forward.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: the horizon of a channel whose re-sync listed everything up to now
CAUGHT_UP = 2**62


@dataclass
class _Channel:
    running: dict[str, int] = field(default_factory=dict)  # post id -> create_at
    failed: dict[str, int] = field(default_factory=dict)  # left for a retry; a barrier until then
    done: int | None = None  # the newest create_at finished
    horizon: int | None = None  # every post up to here has been seen (None: not since the gap)


class Progress:
    """Posts in flight, finished and failed, per channel."""

    def __init__(self) -> None:
        self._channels: dict[str, _Channel] = {}
        self._listed: frozenset[str] | None = None  # the re-sync's channel list since the gap

    def _get(self, channel_id: str) -> _Channel:
        return self._channels.setdefault(channel_id, _Channel())

    def start(self, channel_id: str, post_id: str, create_at: int) -> bool:
        """Mark the post in flight; False if it already is (another task finishes it).
        A post that failed before may start again: that is its retry."""
        chan = self._get(channel_id)
        if post_id in chan.running:
            return False
        chan.failed.pop(post_id, None)
        chan.running[post_id] = create_at
        return True

    def finish(self, channel_id: str, post_id: str) -> None:
        chan = self._get(channel_id)
        create_at = chan.running.pop(post_id)
        chan.done = create_at if chan.done is None else max(chan.done, create_at)

    def fail(self, channel_id: str, post_id: str) -> None:
        """The post stays unfinished: the cursor stops below it until a retry finishes it."""
        chan = self._get(channel_id)
        chan.failed[post_id] = chan.running.pop(post_id)

    def open_gap(self) -> None:
        """The websocket (re)connected: what was posted meanwhile is unknown until re-synced."""
        for chan in self._channels.values():
            chan.horizon = None
        self._listed = None

    def listed(self, channel_ids: frozenset[str]) -> None:
        """The re-sync's list of channels, taken after the (re)connect. A channel not in it
        was created later, so every post of it came live: nothing of it is unseen."""
        self._listed = channel_ids

    def seen_until(self, channel_id: str, create_at: int) -> None:
        """The re-sync has handed every post of the channel up to `create_at` to `start`."""
        chan = self._get(channel_id)
        chan.horizon = create_at if chan.horizon is None else max(chan.horizon, create_at)

    def safe_cursor(self, channel_id: str) -> int | None:
        """The furthest the channel's cursor may move now, or None for "not at all"."""
        chan = self._channels.get(channel_id)
        horizon = chan.horizon if chan is not None else None
        if horizon is None and self._listed is not None and channel_id not in self._listed:
            horizon = CAUGHT_UP
        if chan is None or chan.done is None or horizon is None:
            return None
        limit = min(chan.done, horizon)
        unfinished = [*chan.running.values(), *chan.failed.values()]
        if unfinished:
            limit = min(limit, min(unfinished) - 1)
        return limit
