"""ReminderService: the `Reminders` port, on the store and the runner.

Commands never see the scheduler: adding or cancelling a reminder writes our table and
then calls `on_change` (the APScheduler adapter's `replan`), so the alarms follow the
table and never the other way round.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Literal

from idlbot.domain.reminders import CustomReminder, Occurrence, fill
from idlbot.ports.reminders import FiringRecord, PlannedFiring
from idlbot.scheduling.runner import ReminderRunner
from idlbot.storage.reminders import SqlReminderStore

NUDGES = "nudges"


def _planned(occ: Occurrence, filed: int | None = None) -> PlannedFiring:
    custom_id = int(occ.ref) if occ.kind == "custom" else None
    return PlannedFiring(occ.key, occ.kind, occ.fire_at, occ.target.label(), fill(occ, filed), custom_id)


class ReminderService:
    def __init__(
        self,
        store: SqlReminderStore,
        runner: ReminderRunner,
        *,
        calendar_base_url: str,
        on_change: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.calendar_base_url = calendar_base_url.rstrip("/")
        self.on_change = on_change

    def _term_end(self, now: datetime) -> datetime:
        """Far enough for any term: the plan itself stops at the course end."""
        return now + timedelta(days=400)

    async def upcoming(self, now: datetime, limit: int = 10) -> list[PlannedFiring]:
        found = await self.runner.pending(now, until=self._term_end(now))
        return [_planned(o) for o in found if o.fire_at > now][:limit]

    async def add(
        self,
        *,
        kind: Literal["once", "weekly"],
        first: datetime,
        channel: str,
        text: str,
        created_by: str,
        now: datetime,
    ) -> CustomReminder:
        reminder = await self.store.add_custom(
            kind=kind, first=first, channel=channel, text=text, created_by=created_by, now=now
        )
        await self._changed()
        return reminder

    async def cancel(self, reminder_id: int) -> CustomReminder | None:
        reminder = await self.store.cancel_custom(reminder_id)
        await self._changed()
        return reminder

    async def preview(self, ident: str, now: datetime) -> PlannedFiring | None:
        horizon = self._term_end(now)
        found = await self.runner.planned(now - self.runner.lookback, horizon)
        if ident.isdigit():
            mine = [o for o in found if o.kind == "custom" and o.ref == ident]
        else:
            mine = [o for o in found if o.key == ident or o.key.startswith(ident)]
        if not mine:
            return None
        future = [o for o in mine if o.fire_at > now]
        chosen = future[0] if future else mine[-1]
        filed = None
        if chosen.kind == "questions" and self.runner.deps.questions_count is not None:
            filed = await self.runner.deps.questions_count()
        return _planned(chosen, filed)

    async def log(self, limit: int = 20) -> list[FiringRecord]:
        return await self.store.log(limit)

    async def set_muted(self, user_id: str, muted: bool, now: datetime) -> None:
        await self.store.set_muted(user_id, NUDGES, muted, now)

    async def calendar_link(self, user_id: str, username: str, now: datetime, *, reset: bool = False) -> str:
        token = await self.store.calendar_token(user_id, username, now, reset=reset)
        return f"{self.calendar_base_url}/calendar/{token}.ics"

    async def _changed(self) -> None:
        if self.on_change is not None:
            await self.on_change()
