"""The weekly learning-blog nudge as a course routine (`ports/routines.py`).

Planned by the domain (`domain/blog_nudge.py`: which weeks, when); when a firing is
due, this reads every active student's ledger and DMs each one with no blog post in the
course week so far, unless they muted nudges (`/idl remind off`). One DM per student
and week: its outbox key is ``<firing key>:<user id>``, and the firing key names the
week's nudge day, so a firing run twice (two processes, a crash between enqueue and
record) queues nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from idlbot.domain.blog_nudge import (
    ROUTINE,
    BlogNudgeSettings,
    blog_counts,
    nudge_text,
    plan_nudges,
    week_start,
)
from idlbot.domain.course import Course
from idlbot.domain.reminders import Occurrence
from idlbot.ports.outbox import Outbox
from idlbot.ports.reminder_store import FiringStore
from idlbot.ports.routine_inputs import Ledgers, StudentIds
from idlbot.ports.routines import RoutineResult
from idlbot.services.reminder_firing import NUDGE_MUTE

__all__ = ["BlogNudge"]

log = logging.getLogger(__name__)


class BlogNudge:
    name = ROUTINE

    def __init__(
        self,
        settings: BlogNudgeSettings,
        course: Course,
        *,
        ledgers: Ledgers,
        students: StudentIds,
        mutes: FiringStore,
        outbox: Outbox,
    ) -> None:
        self._settings = settings
        self._course = course
        self._ledgers = ledgers
        self._students = students
        self._mutes = mutes
        self._outbox = outbox

    def plan(self, course: Course) -> Iterable[Occurrence]:
        return plan_nudges(course, self._settings)

    async def fire(self, occurrence: Occurrence, now: datetime) -> RoutineResult:
        since = week_start(self._course, occurrence.fire_at)
        ids = {name: uid for uid, name in await self._students.students()}
        muted = await self._mutes.muted(NUDGE_MUTE)
        monday = since.astimezone(self._course.tz).date()
        sent = blogged = 0
        for ledger in await self._ledgers.all_ledgers():
            total, this_week = blog_counts(ledger.posts, week_start=since, now=now)
            if this_week:
                blogged += 1
                continue
            user_id = ids.get(ledger.student.mattermost)
            if user_id is None or user_id in muted:
                continue
            await self._outbox.enqueue(
                key=f"{occurrence.key}:{user_id}",
                message=nudge_text(total, monday),
                now=now,
                dm_user_id=user_id,
            )
            sent += 1
        return RoutineResult(None, sent, f"{sent} nudged, {blogged} blogged this week")
