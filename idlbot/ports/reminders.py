"""Port for the reminder commands: rules, firings, mutes, calendar tokens.

The SQL store is idlbot/storage/reminders.py; `ReminderService` (idlbot/services/reminders.py)
implements this port on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from idlbot.domain.reminders import CustomReminder, FiringKind
from idlbot.domain.when import Repeat
from idlbot.ports.outbox import OutboxState

FiringStatus = Literal["planned", "claimed", "sent", "skipped", "failed"]
"""An occurrence's fate in the firings table (its CHECK constraint lists the same)."""


@dataclass(frozen=True)
class PlannedFiring:
    """A firing to come (or, for `test`, its preview): `text` is what would be posted."""

    key: str
    kind: FiringKind
    fire_at: datetime
    target: str  # the target's label ("~town-square", "members of g1"), for people
    text: str
    custom_id: int | None = None


@dataclass(frozen=True)
class FiringRecord:
    """What happened to one occurrence. `delivery` is the outbox state of its post
    (pending / sending / sent / failed), None for skips and DM fan-outs."""

    key: str
    kind: FiringKind
    fire_at: datetime
    target: str
    state: FiringStatus
    decided_at: datetime | None
    reason: str | None
    delivery: OutboxState | None
    fanout: int


class Reminders(Protocol):
    """What `/idl remind …` and `/idl calendar …` need."""

    async def upcoming(self, now: datetime, limit: int = 10) -> list[PlannedFiring]:
        """The next `limit` firings not yet decided, by time."""
        ...

    def channel_name(self, typed: str) -> str:
        """A purpose from [mattermost.channels] or a channel name (`~` optional), as the
        name of the channel a reminder to `typed` is posted in."""
        ...

    async def add(
        self,
        *,
        kind: Repeat,
        first: datetime,
        channel: str,
        text: str,
        created_by: str,
        created_by_id: str,
        now: datetime,
    ) -> CustomReminder: ...

    async def custom(self, reminder_id: int) -> CustomReminder | None:
        """Custom reminder `reminder_id` (its creator decides who may change it), or None."""
        ...

    async def cancel(self, reminder_id: int) -> CustomReminder | None:
        """The reminder, now cancelled; None if there is no such id or it was cancelled already."""
        ...

    async def preview(self, ident: str, now: datetime) -> PlannedFiring | None:
        """The next firing of custom reminder `ident` (a number) or of a firing key."""
        ...

    async def log(self, limit: int = 20) -> list[FiringRecord]:
        """The most recent decisions, newest first."""
        ...

    async def set_muted(self, user_id: str, muted: bool, now: datetime) -> None:
        """Personal nudges off (muted) or on for this user."""
        ...

    async def calendar_link(self, user_id: str, username: str, now: datetime, *, reset: bool = False) -> str:
        """The user's ICS feed URL; `reset` revokes the old token and issues a new one."""
        ...
