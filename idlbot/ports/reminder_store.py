"""What the reminders keep in the database (`storage.reminders.SqlReminderStore`).

The plan itself is never stored: it is recomputed from the config and the custom
reminders on every pass. What is stored is what was decided per occurrence (the claim
and its outcome), so "was this sent?" has one answer shared by every bot process.

* `FiringStore`: what firing and planning need (the runner, `fire`).
* `ReminderStore`: that plus what the `/idl remind` and `/idl calendar` commands change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from idlbot.domain.reminders import CustomReminder, FiringKind
from idlbot.domain.when import Repeat
from idlbot.ports.reminders import FiringRecord, FiringStatus


@dataclass(frozen=True)
class FiringState:
    """An occurrence's record: `claimed` while a process works on it, then its outcome."""

    state: FiringStatus
    claimed_at: datetime


class FiringStore(Protocol):
    async def customs(self) -> list[CustomReminder]:
        """The custom reminders not cancelled, which the plan adds to the configured ones."""
        ...

    async def states(self, *, since: datetime) -> dict[str, FiringState]:
        """Every recorded occurrence at or after `since`, by firing key: what is missing
        (or claimed by a process that died) is what still needs firing."""
        ...

    async def claim(
        self, *, key: str, kind: FiringKind, fire_at: datetime, target: str, now: datetime, stale: timedelta
    ) -> bool:
        """True if this caller now owns the occurrence and must decide and record it; a
        claim older than `stale` is taken over (its process died before recording)."""
        ...

    async def finish(
        self,
        key: str,
        *,
        state: Literal["sent", "skipped", "failed"],
        reason: str,
        now: datetime,
        outbox_key: str | None = None,
        fanout: int = 0,
    ) -> None:
        """Record the outcome of a claimed occurrence (shown by `/idl remind log`)."""
        ...

    async def muted(self, kind: str) -> set[str]:
        """Mattermost ids of users who turned this kind of DM off (`/idl remind off`)."""
        ...


class ReminderStore(FiringStore, Protocol):
    async def add_custom(
        self,
        *,
        kind: Repeat,
        first: datetime,
        channel: str,
        text: str,
        created_by: str,
        created_by_id: str,
        now: datetime,
    ) -> CustomReminder:
        """Store a staff reminder (`remind add`); it is in the next plan."""
        ...

    async def custom(self, reminder_id: int) -> CustomReminder | None:
        """One custom reminder, cancelled or not; None if there is no such id."""
        ...

    async def cancel_custom(self, reminder_id: int) -> CustomReminder | None:
        """Cancel it for good; None if there is no such id or it was cancelled already."""
        ...

    async def log(self, limit: int = 20) -> list[FiringRecord]:
        """The latest decisions, newest first, with their posts' delivery state."""
        ...

    async def set_muted(self, user_id: str, kind: str, muted: bool, now: datetime) -> None:
        """Turn this kind of DM off (muted) or on again for one user."""
        ...

    async def calendar_token(self, user_id: str, username: str, now: datetime, *, reset: bool = False) -> str:
        """The user's secret feed token, made on first use; `reset` issues a new one."""
        ...
