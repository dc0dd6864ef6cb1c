"""Plans from our tables and fires what is due; `ManualScheduler` is it under test.

The plan is recomputed from config + the custom reminders table every time (a term is
a few hundred firings, microseconds to plan), so nothing about "what is due" is cached
anywhere that could disagree with the database. What was already decided comes from
`reminder_firings`; an occurrence without a decision whose time has passed is fired
now, and `decide()` makes it late or skipped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from idlbot.domain.course import Course
from idlbot.domain.reminders import Occurrence, plan
from idlbot.domain.settings import ReminderSettings
from idlbot.scheduling.firing import FireDeps, Outcome, fire

LOOKBACK = timedelta(days=7)
"""How far back a start looks for undecided occurrences. Older ones are beyond every
grace period; they are left out rather than logged as skipped by the thousand."""


class ReminderRunner:
    def __init__(
        self, deps: FireDeps, course: Course, settings: ReminderSettings, *, lookback: timedelta = LOOKBACK
    ) -> None:
        self.deps = deps
        self.course = course
        self.settings = settings
        self.lookback = lookback

    async def planned(self, start: datetime, end: datetime) -> list[Occurrence]:
        extra = await self.deps.store.customs()
        return plan(self.course, self.settings, start=start, end=end, extra=extra)

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


class ManualScheduler:
    """The scheduler port for tests: nothing happens until `run_due(now)` is called
    with the fake clock's time, so no test sleeps for time logic."""

    def __init__(self, runner: ReminderRunner) -> None:
        self.runner = runner

    async def start(self, now: datetime) -> list[tuple[str, Outcome]]:
        """Rehydrate: decide everything missed while we were down."""
        return await self.runner.run_due(now)

    async def run_due(self, now: datetime) -> list[tuple[str, Outcome]]:
        return await self.runner.run_due(now)

    async def replan(self) -> None:
        """Nothing to register: `run_due` re-plans from the tables on each call."""

    async def stop(self) -> None:
        """Nothing runs in the background."""
