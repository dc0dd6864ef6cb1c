"""Early warnings about exam qualification, as transitions told once each.

`/idl status` evaluates a student's ledger (`domain/qualification.py`); its forecast
says "you can miss at most N more", "you must hand in all of the remaining N on time",
or "Qualification is no longer reachable because …". A student should not have to ask
to learn that the last two happened, so the bot tells them privately, once per change:

* ``ok`` → ``last-chance``: the assignments can still be met, but no more may be missed
  (`can_miss == 0` while some remain and the quota is not met yet);
* → ``unreachable``: a rule other than the presentations has failed (assignments out of
  reach, the group paper not accepted; blog and report only fail after the term);
* back to ``ok`` (or from ``unreachable`` to ``last-chance``) after a record changed, e.g.
  an override or an excuse: a short factual "you are back on track" message, so the
  last thing the bot said is not left standing wrong.

Exclusion (enough failed presentations) is the exclusion notices' business
(`domain/exclusion.py`): an excluded student is in state ``excluded``, entered silently
here, so nobody is told the same thing twice by two features; leaving it (a fail
withdrawn) is told here only when the student is then at the last chance or out of reach,
which the reinstatement notice does not say.

Like the exclusion notices, each transition gets the next number in the student's
sequence, stored with the state in one transaction (the student's row locked); the DM's
outbox key is ``warn:<student>:<seq>``. Two passes, two processes or a replay after a
crash compute the same transition at most once and queue its DM under the same key.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal

from idlbot.domain.course import Course
from idlbot.domain.defuse import defuse
from idlbot.domain.qualification import Standing
from idlbot.domain.reminders import Occurrence, routine_firing
from idlbot.domain.transitions import Transition, next_transition

__all__ = [
    "CHECK_AFTER_DUE",
    "CHECK_ROUTINE",
    "WarningChange",
    "WarningSettings",
    "WarningState",
    "plan_checks",
    "student_warning",
    "warning_key",
    "warning_state",
    "warning_transition",
]

WarningState = Literal["ok", "last-chance", "unreachable", "excluded"]
STATES: tuple[WarningState, ...] = ("ok", "last-chance", "unreachable", "excluded")
CHECK_ROUTINE = "warnings"
CHECK_AFTER_DUE = timedelta(minutes=5)
"""A check runs this long after each due time: then time alone has changed forecasts
(a missed assignment), and hand-ins pushed at the last second have been recorded."""


@dataclass(frozen=True)
class WarningSettings:
    """`[warnings]`. Absent table: everything off. `students`: the private warnings;
    `digest_enabled`: the weekly staff digest at `digest_weekday` `digest_at`."""

    enabled: bool = False
    students: bool = True
    digest_enabled: bool = True
    digest_weekday: int = 0
    digest_at: time = time(8, 0)

    @property
    def warn_students(self) -> bool:
        return self.enabled and self.students

    @property
    def send_digest(self) -> bool:
        return self.enabled and self.digest_enabled


@dataclass(frozen=True)
class WarningChange:
    """One stored transition. `forecast` is `/idl status`'s forecast sentence at the time,
    addressed to the student (our own text: numbers and rule words only)."""

    student: str  # Mattermost username
    student_key: str  # the roster row's id: stable, for the outbox key
    group_id: str | None
    seq: int
    state: WarningState
    previous: WarningState
    forecast: str
    at: datetime


def warning_state(standing: Standing) -> WarningState:
    """Where the student stands, in the terms the warnings speak of."""
    if standing.excluded:
        return "excluded"
    if any(r.verdict == "failed" for r in standing.rules if r.name != "presentations"):
        return "unreachable"
    if standing.remaining > 0 and standing.can_miss == 0 and standing.on_time_count < standing.required:
        return "last-chance"
    return "ok"


def warning_transition(
    last: Transition[WarningState] | None, state: WarningState
) -> Transition[WarningState] | None:
    """The new stored state if `state` differs from the last stored one. A student with
    nothing stored was never warned, so "before" is ``ok``: a student already at the last
    chance when the warnings are switched on is told once."""
    return next_transition(last, state, initial="ok")


def warning_key(change: WarningChange) -> str:
    """The outbox key of the student's DM: per student and transition number."""
    return f"warn:{change.student_key}:{change.seq}"


def _staff(tutors: Sequence[str], instructors: Sequence[str]) -> str:
    """ "your tutor @​t1 or the instructors @​a, @​b": names defused, so nobody is pinged
    from a DM they are not in; readable all the same."""
    names = [defuse(f"@{n}") for n in instructors]
    staff = f"the instructors {', '.join(names)}" if len(names) > 1 else f"the instructor {''.join(names)}"
    if tutors:
        mine = ", ".join(defuse(f"@{t}") for t in tutors)
        staff = f"your tutor{'s' if len(tutors) > 1 else ''} {mine} or {staff}"
    return staff


def student_warning(
    change: WarningChange, *, tutors: Sequence[str], instructors: Sequence[str]
) -> str | None:
    """The DM for this transition, or None when the exclusion notices tell it (into
    exclusion, or out of it with nothing else wrong)."""
    head = "**Exam qualification:** "
    talk = (
        f"If a record is wrong, or something kept or keeps you from handing in on time (illness, "
        f"for example), please talk to {_staff(tutors, instructors)}; "
        "an excused assignment is neither counted nor missed."
    )
    details = "`/idl status` shows every record behind these numbers."
    state, before = change.state, change.previous
    if state == "excluded":  # the exclusion notice says it; reinstated to ok: its notice too
        return None
    if state == "last-chance":
        return _last_chance(head, change, talk, details)
    if state == "unreachable":
        return (
            f"{head}as your records stand now, you can no longer qualify for the exam this term. "
            f"{change.forecast} {talk} {details}"
        )
    if before in ("last-chance", "unreachable"):
        return f"{head}you are back on track after a change in your records. {change.forecast} {details}"
    return None


def _last_chance(head: str, change: WarningChange, talk: str, details: str) -> str:
    again = (
        "after a change in your records, qualification is reachable again, but "
        if change.previous in ("unreachable", "excluded")
        else ""
    )
    return (
        f"{head}{again}you can miss no more assignments: {change.forecast} "
        f"One more missed or late assignment would mean that you cannot sit the exam this term. "
        f"{talk} {details}"
    )


def plan_checks(course: Course) -> Iterator[Occurrence]:
    """A check `CHECK_AFTER_DUE` after every assignment's due time. The check itself is
    idempotent (stored transitions), so a firing late by a day still does right."""
    for assignment in course.assignments:
        at = assignment.due + CHECK_AFTER_DUE
        yield routine_firing(CHECK_ROUTINE, assignment.id, at, grace=timedelta(days=1), ref=assignment.id)
