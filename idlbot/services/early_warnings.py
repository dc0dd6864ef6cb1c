"""Early warnings: find the students whose qualification state changed, store each
change once, tell each student once.

`check(now)` evaluates every active student's ledger exactly as `/idl status` does
(`domain.qualification.evaluate`), turns the standing into a warning state
(`domain/early_warnings.py`), and stores a transition for each student whose state
differs from the last stored one (`storage/warnings.py`: under the student's row lock,
compare-and-set on the sequence number). Then `announce` queues each unannounced
transition's DM under ``warn:<student>:<seq>`` and marks it announced, in the loop the
exclusion notices use (`services/transition_notices.py`).

It runs (a) as the `warnings` routine a few minutes after each assignment's due time,
when time alone changes forecasts, and (b) as a periodic pass, which catches staff
records, overrides, excuses and late GitLab hand-ins within a minute, and whatever a
crash left unannounced. Both may run at once, in one process or two: the store lets one
writer per student through and the outbox drops a key it knows. Only within the course
(start to end date): before it nothing is due, after it the term's verdicts are final
and the instructors' business.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from idlbot.domain.course import Course
from idlbot.domain.early_warnings import (
    CHECK_ROUTINE,
    WarningChange,
    WarningState,
    plan_checks,
    student_warning,
    warning_key,
    warning_state,
)
from idlbot.domain.qualification import evaluate
from idlbot.domain.reminders import Occurrence
from idlbot.domain.transitions import Transition
from idlbot.domain.usernames import normalize_username
from idlbot.ports.chat import Directory
from idlbot.ports.outbox import Outbox
from idlbot.ports.routine_inputs import Ledgers
from idlbot.ports.routines import RoutineResult
from idlbot.services.transition_notices import announce_in_order
from idlbot.slices import in_slices

__all__ = ["EarlyWarnings", "WarningCheck", "WarningStore"]

log = logging.getLogger(__name__)


class WarningStore(Protocol):
    """What the warnings need from storage (``storage.warnings.SqlWarnings``)."""

    async def latest(self) -> dict[str, Transition[WarningState]]: ...

    async def record(
        self, mattermost: str, state: WarningState, *, forecast: str, now: datetime
    ) -> WarningChange | None: ...

    async def unannounced(self) -> list[WarningChange]: ...

    async def mark_announced(self, changes: Sequence[WarningChange], *, now: datetime) -> None: ...


class EarlyWarnings:
    def __init__(
        self,
        store: WarningStore,
        ledgers: Ledgers,
        outbox: Outbox,
        people: Directory,
        course: Course,
        instructors: Sequence[str],
        *,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._ledgers = ledgers
        self._outbox = outbox
        self._people = people
        self._course = course
        self._instructors = tuple(instructors)
        self._wake = wake

    def _in_term(self, now: datetime) -> bool:
        today = now.astimezone(self._course.tz).date()
        return self._course.start <= today <= self._course.end

    async def check(self, now: datetime) -> list[WarningChange]:
        """Store every change of state, then queue what is not told yet; the DMs queued."""
        if self._in_term(now):
            latest = await self._store.latest()
            async for ledger in in_slices(await self._ledgers.all_ledgers()):
                standing = evaluate(ledger, self._course, now=now)
                state = warning_state(standing)
                name = ledger.student.mattermost
                last = latest.get(name)
                if (last.state if last is not None else "ok") != state:
                    await self._store.record(name, state, forecast=standing.forecast, now=now)
        return await self.announce(now)

    async def announce(self, now: datetime) -> list[WarningChange]:
        """Queue the DM of each transition not announced yet (a silent one only gets marked)."""
        told: list[WarningChange] = []
        pending = await self._store.unannounced()
        # the accounts in one request per hundred names, not one each: the first check
        # after a deadline may warn hundreds of students at once
        ids = await self._people.user_ids(c.student for c in pending) if pending else {}

        async def send(change: WarningChange) -> WarningChange:
            text = student_warning(
                change, tutors=self._tutors(change.group_id), instructors=self._instructors
            )
            if text is None:
                return change
            user_id = ids.get(normalize_username(change.student))
            if user_id is None:  # waiting would not help: the next pass would find none either
                log.warning("warning %s: Mattermost has no user @%s", warning_key(change), change.student)
                return change
            await self._outbox.enqueue(key=warning_key(change), message=text, now=now, dm_user_id=user_id)
            told.append(change)
            return change

        async def mark(change: WarningChange) -> None:
            await self._store.mark_announced([change], now=now)

        await announce_in_order(pending, send=send, mark=mark, what="early warning")
        if told and self._wake is not None:
            self._wake()
        return told

    def _tutors(self, group_id: str | None) -> tuple[str, ...]:
        group = self._course.group(group_id) if group_id is not None else None
        return group.tutors if group is not None else ()


class WarningCheck:
    """The `warnings` routine: a check just after each due time (`plan_checks`). Its DMs
    are keyed ``warn:<student>:<seq>``, not by the firing: a change is told once whichever
    check (this firing, the periodic pass, another process) found it first."""

    name = CHECK_ROUTINE

    def __init__(self, warnings: EarlyWarnings) -> None:
        self._warnings = warnings

    def plan(self, course: Course) -> Iterable[Occurrence]:
        return plan_checks(course)

    async def fire(self, occurrence: Occurrence, now: datetime) -> RoutineResult:
        told = await self._warnings.check(now)
        return RoutineResult(None, len(told), f"{len(told)} warned after {occurrence.ref} was due")
