"""APScheduler 3 (AsyncIOScheduler) as an alarm clock, not as a database.

Jobs live in APScheduler's memory store and are rebuilt from our plan on every start
and every `replan()`: one DateTrigger job per firing in the next `horizon`, with
`id` = the firing key, `replace_existing=True` (re-adding is harmless),
`misfire_grace_time=None` (a late wake-up still runs; `decide()` judges lateness, not
APScheduler) and `coalesce=True`. An interval job re-plans every `replan_every`, which
also picks up anything a wake-up missed. What was sent lives in our tables only, so a
kill -9 loses nothing but the alarms, and `start()` re-arms them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from idlbot.clock import Clock
from idlbot.services.reminder_firing import Outcome
from idlbot.services.reminders import ReminderRunner

log = logging.getLogger(__name__)

REPLAN_JOB = "reminders:replan"


class ApsReminderScheduler:
    def __init__(
        self,
        runner: ReminderRunner,
        clock: Clock,
        *,
        horizon: timedelta = timedelta(days=2),
        replan_every: timedelta = timedelta(hours=1),
    ) -> None:
        self.runner = runner
        self.clock = clock
        self.horizon = horizon
        self.replan_every = replan_every
        self.scheduler = AsyncIOScheduler(timezone=UTC)

    async def start(self) -> list[tuple[str, Outcome]]:
        """Rehydrate (decide what was missed), then arm the alarms. Call in the loop."""
        outcomes = await self.runner.run_due(self.clock.now())
        for key, outcome in outcomes:
            log.info("reminder catch-up %s: %s", key, outcome)
        self.scheduler.start()
        self.scheduler.add_job(
            self._tick,
            IntervalTrigger(seconds=self.replan_every.total_seconds(), timezone=UTC),
            id=REPLAN_JOB,
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )
        await self.replan()
        return outcomes

    async def replan(self) -> None:
        """Register the next firings; drop alarms for firings no longer planned."""
        now = self.clock.now()
        wanted = await self.runner.pending(now, until=now + self.horizon)
        keys = {occ.key for occ in wanted}
        for job in self.scheduler.get_jobs():
            if job.id != REPLAN_JOB and job.id not in keys:
                job.remove()
        real_now = datetime.now(UTC)  # APScheduler waits on the real clock; ours may be shifted
        for occ in wanted:
            self.scheduler.add_job(
                self._fire,
                DateTrigger(run_date=real_now + max(occ.fire_at - now, timedelta(0)), timezone=UTC),
                args=[occ.key],
                id=occ.key,
                replace_existing=True,
                misfire_grace_time=None,
                coalesce=True,
            )

    async def run_due(self) -> list[tuple[str, Outcome]]:
        return await self.runner.run_due(self.clock.now())

    async def _fire(self, key: str) -> None:
        outcome = await self.runner.fire_key(key, self.clock.now())
        log.debug("reminder job %s: %s", key, outcome)

    async def _tick(self) -> None:
        await self.run_due()
        await self.replan()

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
