"""The "presented the team's progress at least once" exam rule ([presenters] rule).

Kept out of `qualification.py`, which only calls it when the course has the rule: the
presenter rota is a feature of its own, and its verdict depends on the class calendar
rather than on assignment counts. Chances are the classes that have not started yet:

* presented at least once: *met*;
* not yet, classes left: *pending*, "present in one of the N remaining classes"; at
  risk (severity 2) when more team members have not presented than classes are left,
  since one class presents one member's turn and somebody will miss out;
* not yet, no class left: *failed* (severity 3).

A student on no team is pending (staff put them on a team) until no class is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from idlbot.domain.course import Course
from idlbot.domain.ledger import StudentLedger
from idlbot.domain.person import Person
from idlbot.domain.presenters import classes_left


@dataclass(frozen=True)
class PresentingCheck:
    """The rule's verdict with what the forecast and the risk list say about it."""

    verdict: Literal["met", "pending", "failed"]
    summary: str
    forecast: str | None  # a sentence for the forecast, None when there is nothing to add
    risk: tuple[int, str] | None


def _classes(count: int) -> str:
    return "one remaining class" if count == 1 else f"{count} remaining classes"


def check(ledger: StudentLedger, course: Course, *, now: datetime, person: Person) -> PresentingCheck:
    days = sorted(set(ledger.progress_presented))
    who = person.subject
    if days:
        when = ", ".join(f"{d:%a} {d.day:02d} {d:%b %Y}" for d in days)
        return PresentingCheck("met", f"presented the team's progress in class ({when})", None, None)
    left = classes_left(course, now)
    if left == 0:
        return PresentingCheck(
            "failed",
            f"{who} did not present the team's progress, and no classes are left",
            f"no class is left for {who} to present the team's progress",
            (3, "Never presented the team's progress; no classes left."),
        )
    if ledger.student.team_id is None:
        summary = f"not on a project team yet, so {who} cannot present; {_classes(left)}"
        return PresentingCheck("pending", summary, None, None)
    summary = f"not yet; present the team's progress in one of the {_classes(left)}"
    subject = "You" if person.name is None else who
    forecast = f"{subject} must still present the team's progress in one of the {_classes(left)}."
    risk = None
    waiting = ledger.team_waiting
    if waiting > left:
        only = "only one class is" if left == 1 else f"only {left} classes are"
        note = f"{waiting} team members have not presented and {only} left"
        summary += f" (at risk: {note})"
        forecast += f" At risk: {note}."
        risk = (2, f"Not presented yet: {note}.")
    return PresentingCheck("pending", summary, forecast, risk)
