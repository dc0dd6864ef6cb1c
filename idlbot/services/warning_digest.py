"""The weekly at-risk digest for staff, as a course routine (`ports/routines.py`).

Each tutor gets their exercise groups' at-risk students, each instructor the whole
course (`domain/warning_digest.py` says what is listed and when an empty digest is
skipped). One DM per recipient and week under ``<firing key>:<username>``, so a firing
run twice queues nothing twice. A recipient Mattermost does not know is skipped and
logged; the others still get theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from idlbot.domain.course import Course
from idlbot.domain.early_warnings import WarningSettings
from idlbot.domain.qualification import Standing, evaluate
from idlbot.domain.reminders import Occurrence
from idlbot.domain.warning_digest import DIGEST_ROUTINE, digest_text, plan_digests, tutor_groups
from idlbot.ports.chat import People
from idlbot.ports.outbox import Outbox
from idlbot.ports.routine_inputs import Ledgers
from idlbot.ports.routines import RoutineResult
from idlbot.slices import in_slices

__all__ = ["WarningDigest"]

log = logging.getLogger(__name__)


class WarningDigest:
    name = DIGEST_ROUTINE

    def __init__(
        self,
        settings: WarningSettings,
        course: Course,
        *,
        ledgers: Ledgers,
        people: People,
        outbox: Outbox,
        instructors: Sequence[str],
        tutors: Sequence[str],
    ) -> None:
        self._settings = settings
        self._course = course
        self._ledgers = ledgers
        self._people = people
        self._outbox = outbox
        self._instructors = tuple(instructors)
        self._tutors = tuple(t for t in tutors if t not in instructors)

    def plan(self, course: Course) -> Iterable[Occurrence]:
        return plan_digests(course, self._settings)

    async def fire(self, occurrence: Occurrence, now: datetime) -> RoutineResult:
        day = occurrence.fire_at.astimezone(self._course.tz).date()
        ledgers = await self._ledgers.all_ledgers()
        standings = [evaluate(ledger, self._course, now=now) async for ledger in in_slices(ledgers)]
        messages: list[tuple[str, str]] = []
        for instructor in self._instructors:
            text = digest_text(standings, scope="the whole course", day=day, always=True)
            messages.append((instructor, text or ""))
        for tutor in self._tutors:
            groups = tutor_groups(self._course, tutor)
            mine = [s for s in standings if s.student.group_id in groups]
            scope = "exercise group" + ("s " if len(groups) > 1 else " ") + ", ".join(groups)
            text = digest_text(mine, scope=scope, day=day, always=False) if groups else None
            if text is not None:
                messages.append((tutor, text))
        sent = 0
        for username, text in messages:
            user_id = await self._people.user_id(username)
            if user_id is None:
                log.warning("at-risk digest: Mattermost has no user @%s", username)
                continue
            key = f"{occurrence.key}:{username}"
            await self._outbox.enqueue(key=key, message=text, now=now, dm_user_id=user_id)
            sent += 1
        return RoutineResult(None, sent, f"{sent} digests, {_at_risk(standings)} at risk")


def _at_risk(standings: Iterable[Standing]) -> int:
    return sum(s.at_risk for s in standings)
