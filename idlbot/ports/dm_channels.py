"""Where the Mattermost adapter remembers DM channel ids (`storage.dm_channels`).

The adapter's in-memory cache dies with the process; without this, the first fan-out
after every restart asks Mattermost for each student's DM channel again, one request
each, against a rate limit of about ten per second. Optional: the CLI's one-off
`MattermostChat` works without it.
"""

from __future__ import annotations

from typing import Protocol


class DmChannels(Protocol):
    async def get(self, bot_user_id: str, user_id: str) -> str | None:
        """The DM channel between the bot and the user, None if never stored."""
        ...

    async def remember(self, bot_user_id: str, user_id: str, channel_id: str) -> None:
        """Store the channel Mattermost gave for this pair (it never changes)."""
        ...
