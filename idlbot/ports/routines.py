"""`Routine`: a weekly course routine (rotas, blog nudges, digests) that rides on the
reminder planner.

Why on the planner and not as periodic passes of their own: a routine's moments
(announce the summary writer the day before class, nudge bloggers on Sunday evening)
are dated firings like reminders. Planned as `Occurrence`s they get the reminder
machinery for free: a stable key claimed once in `reminder_firings` (so two processes
or a restart never fire one twice), the grace rule after downtime, DST-safe wall-clock
planning, the lecture-free weeks, `/idl remind list`, and the whole-semester golden test
on a fake clock.

A routine plans purely (`plan`, no I/O) and, when a firing is due, decides what to post
and queues it itself (`fire`), because only it knows whom a pick or a digest goes to.
It must queue under outbox keys that start with the occurrence's key, so a firing run
again after a crash between enqueue and record is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from idlbot.domain.course import Course
from idlbot.domain.reminders import Occurrence


@dataclass(frozen=True)
class RoutineResult:
    """What a firing queued: the outbox key of its channel post (None if it posted to no
    channel), how many DMs, and why (for the log and `/idl remind log`)."""

    outbox_key: str | None = None
    fanout: int = 0
    reason: str = ""


class Routine(Protocol):
    """One routine. `name` is the `Target("routine", name)` value of its occurrences."""

    name: str

    def plan(self, course: Course) -> Iterable[Occurrence]:
        """Every firing of the term (the runner filters by time). Pure."""
        ...

    async def fire(self, occurrence: Occurrence, now: datetime) -> RoutineResult:
        """Queue what is due now. Raise `DeliveryProblem` when its target is unreachable."""
        ...
