"""ReminderRunner plans and fires; ReminderService is the `Reminders` port on top of it.

Commands never see the scheduler: adding or cancelling a reminder writes our table and
then calls `on_change` (the APScheduler adapter's `replan`), so the alarms follow the
table and never the other way round. The alarm clock (`scheduling.aps`) only tells the
runner when to look; what is due, and whether it was sent, is decided here.

The plan is recomputed from config + the custom reminders table every time (a term is
a few hundred firings, microseconds to plan), so nothing about "what is due" is cached
anywhere that could disagree with the database. What was already decided comes from
`reminder_firings`; an occurrence without a decision whose time has passed is fired
now, and `decide()` makes it late or skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from idlbot.domain.course import Course
from idlbot.domain.reminders import CustomReminder, Occurrence, fill, plan
from idlbot.domain.settings import ReminderSettings
from idlbot.domain.when import Repeat
from idlbot.ports.channels import ChannelChecker
from idlbot.ports.reminder_store import ReminderStore
from idlbot.ports.reminders import FiringRecord, PlannedFiring
from idlbot.services.channel_check import from_resolver, postable_channel
from idlbot.services.reminder_firing import FireDeps, Outcome, fire

NUDGES = "nudges"

LOOKBACK = timedelta(days=7)
"""How far back a start looks for undecided occurrences. Older ones are beyond every
grace period; they are left out rather than logged as skipped by the thousand."""


class ReminderRunner:
    """Plans from our tables and fires what is due. Driven by an alarm clock in the app
    (`scheduling.aps`) and by `run_due(now)` on a fake clock in tests."""

    def __init__(
        self, deps: FireDeps, course: Course, settings: ReminderSettings, *, lookback: timedelta = LOOKBACK
    ) -> None:
        self.deps = deps
        self.course = course
        self.settings = settings
        self.lookback = lookback

    async def planned(self, start: datetime, end: datetime) -> list[Occurrence]:
        extra = await self.deps.store.customs()
        routines = [occ for routine in self.deps.routines.values() for occ in routine.plan(self.course)]
        return plan(self.course, self.settings, start=start, end=end, extra=extra, routines=routines)

    async def pending(self, now: datetime, *, until: datetime) -> list[Occurrence]:
        """Occurrences from `now - lookback` to `until` that need firing: no record yet,
        or a claim gone stale (its process died before recording the outcome)."""
        since = now - self.lookback
        states = await self.deps.store.states(since=since)
        stale_before = now - self.deps.stale_claim
        found = []
        for occ in await self.planned(since, until):
            state = states.get(occ.key)
            if state is None or (state.state == "claimed" and state.claimed_at < stale_before):
                found.append(occ)
        return found

    async def run_due(self, now: datetime) -> list[tuple[str, Outcome]]:
        """Fire every pending occurrence with `fire_at <= now`, oldest first."""
        due = await self.pending(now, until=now + timedelta(microseconds=1))
        return [(occ.key, await fire(self.deps, occ, now)) for occ in due]

    async def fire_key(self, key: str, now: datetime) -> Outcome | None:
        """Fire one occurrence by key, re-planned now (so a cancel in between wins)."""
        for occ in await self.pending(now, until=now + timedelta(minutes=5)):
            if occ.key == key:
                return await fire(self.deps, occ, now)
        return None


def _planned(occ: Occurrence, filed: int | None = None) -> PlannedFiring:
    custom_id = int(occ.ref) if occ.kind == "custom" else None
    return PlannedFiring(occ.key, occ.kind, occ.fire_at, occ.target.label(), fill(occ, filed), custom_id)


class ReminderService:
    def __init__(
        self,
        store: ReminderStore,
        runner: ReminderRunner,
        *,
        calendar_base_url: str,
        on_change: Callable[[], Awaitable[None]] | None = None,
        check_channel: ChannelChecker | None = None,
    ) -> None:
        """`check_channel` asks Mattermost afresh when a reminder is added (the app passes
        the adapter's); without it, the firing's own resolver is used."""
        self.store = store
        self.runner = runner
        self.calendar_base_url = calendar_base_url.rstrip("/")
        self.on_change = on_change
        self.check_channel = check_channel or from_resolver(runner.deps.channel_id)

    def _term_end(self, now: datetime) -> datetime:
        """Far enough for any term: the plan itself stops at the course end."""
        return now + timedelta(days=400)

    async def upcoming(self, now: datetime, limit: int = 10) -> list[PlannedFiring]:
        found = await self.runner.pending(now, until=self._term_end(now))
        return [_planned(o) for o in found if o.fire_at > now][:limit]

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
    ) -> CustomReminder:
        """Store a reminder to `channel` (a purpose or a channel name), after checking that
        the bot can post there now (`channel_check.postable_channel`: refused at once
        otherwise, never discovered at firing time)."""
        channels = self.runner.deps.channels
        await postable_channel(self.check_channel, self.channel_name(channel), purposes=channels)
        reminder = await self.store.add_custom(
            kind=kind,
            first=first,
            channel=channel,
            text=text,
            created_by=created_by,
            created_by_id=created_by_id,
            now=now,
        )
        await self._changed()
        return reminder

    def channel_name(self, typed: str) -> str:
        """The same resolution as at firing time (`reminder_firing._enqueue`)."""
        name = typed.removeprefix("~").lower()
        return self.runner.deps.channels.get(name, name)

    async def custom(self, reminder_id: int) -> CustomReminder | None:
        return await self.store.custom(reminder_id)

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
