"""Checking a channel when something is created to be posted there later.

A reminder or an announcement names a channel when it is created and is posted to it
later. A name that the bot cannot post to must be refused then, while the author is there
to read why, not discovered at firing time when nobody is. The check asks
Mattermost afresh (a cached id would still accept a channel archived since), so it can
also fail for an outage: then it raises `idlbot.domain.errors.Unavailable`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelCheck:
    """What Mattermost says of a channel name in the course team, for the bot.

    `channel_id` None: no such channel the bot can see (unknown, archived, or private
    without the bot: the server answers all three with the same 404). `member` False: the
    channel exists, but the bot is not in it, so a post would be refused (403)."""

    channel_id: str | None
    member: bool = True


ChannelChecker = Callable[[str], Awaitable[ChannelCheck]]
"""A channel name → what Mattermost says of it now; raises Unavailable when it cannot
answer (down, timing out, 5xx). The app's Mattermost adapter has one."""
