"""The counts a standing is judged by, and the forecast and risk texts made from them.

`qualification.evaluate` works out one `Numbers` per student and the rules' verdicts;
this module says what they mean for the student ("can miss at most 2 more of the
remaining 4", "one more fail means exclusion"). Apart from `qualification` so that each
stays readable; the rules themselves are described in that module's docstring.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from typing import Literal

from idlbot.domain.course import Course
from idlbot.domain.exclusion import is_excluded
from idlbot.domain.person import Person
from idlbot.domain.presenting_rule import PresentingCheck

Verdict = Literal["met", "failed", "pending"]
RuleName = Literal["assignments", "presentations", "blog", "report", "paper", "presenting"]
PROJECT_WINDOW = timedelta(weeks=3)
"""A project item still unmet this close to the end of the term is a risk."""


def n(count: int, noun: str) -> str:
    """`1 fail`, `2 fails`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@functools.lru_cache(maxsize=16)
def quota_text(quota: float) -> str:
    """0.8 → "80 %", 2/3 → "66.67 %" (at most two decimals, trailing zeros dropped)."""
    pct = exact_quota(quota) * 100
    text = f"{pct.numerator}" if pct.denominator == 1 else f"{float(pct):.2f}".rstrip("0").rstrip(".")
    return f"{text} %"


@functools.lru_cache(maxsize=256)  # Fraction arithmetic is slow; a course has few (quota, count)
def required_on_time(quota: float, counted: int) -> int:
    """ceil(quota * counted), exactly: 80 % of 9 is 7.2, so 8."""
    return math.ceil(exact_quota(quota) * counted)


@functools.lru_cache(maxsize=256)
def rounded_up(quota: float, counted: int) -> bool:
    return (exact_quota(quota) * counted).denominator != 1


@functools.lru_cache(maxsize=16)
def exact_quota(quota: float) -> Fraction:
    """The quota as the decimal the instructor wrote: 0.8 → 4/5, not 0.8000000000000000444.
    Cached: a course has one quota, and the overview asks for it once per student."""
    return Fraction(str(quota))


@dataclass(frozen=True)
class Numbers:
    """One student's counts at one instant: worked out once by `evaluate`, read by every
    rule's verdict and every text below."""

    on_time: int
    on_time_due: int
    due: int
    counted: int
    excused: int
    required: int
    remaining: int
    fails: int
    limit: int
    days_left: int  # course end minus today (course zone); negative once it has passed

    @property
    def possible(self) -> int:
        return self.on_time + self.remaining

    @property
    def can_miss(self) -> int:
        return min(max(self.possible - self.required, 0), self.remaining)

    @property
    def excluded(self) -> bool:
        return is_excluded(self.fails, self.limit)

    @property
    def reachable(self) -> bool:
        return self.possible >= self.required


def _ends(days_left: int) -> str:
    if days_left < 0:
        return "the term has ended"
    if days_left <= 1:
        return "the term ends today" if days_left == 0 else "the term ends tomorrow"
    return f"the term ends in {days_left} days"


def risks(
    num: Numbers, verdicts: dict[RuleName, Verdict], blogs: int, reports: int, course: Course
) -> list[tuple[int, str]]:
    """The risk reasons with their severity (3: cannot qualify any more; 2: one step from
    it; 1: a project item unmet near the end of the term), as `qualification` describes."""
    out: list[tuple[int, str]] = []
    if num.excluded:
        out.append((3, f"Excluded: {n(num.fails, 'fail')}."))
    if not num.reachable:
        out.append(
            (3, f"Assignments out of reach: {num.required} on time needed, at most {num.possible} possible.")
        )
    rules = course.rules
    project: tuple[tuple[RuleName, str], ...] = (
        ("blog", f"{blogs} of {rules.blog_posts} blog posts"),
        ("report", f"{reports} of {rules.progress_reports} progress reports"),
        ("paper", "Group paper"),
    )
    for name, what in project:
        if verdicts[name] == "failed":
            out.append(
                (
                    3,
                    "Group paper not accepted."
                    if name == "paper"
                    else f"Only {what} by the end of the term.",
                )
            )
    if not num.excluded and num.fails >= 1 and num.fails == num.limit - 1:
        out.append((2, f"{n(num.fails, 'fail')}: one more means exclusion."))
    if num.reachable and num.remaining > 0 and num.can_miss == 0:
        rest = "the remaining one" if num.remaining == 1 else f"all {num.remaining} remaining"
        out.append((2, f"No misses left: {rest} must be on time."))
    if num.days_left < PROJECT_WINDOW.days:
        for name, what in project:
            if verdicts[name] == "pending":
                state = "not recorded yet" if name == "paper" else "so far"
                out.append((1, f"{what} {state}; {_ends(num.days_left)}."))
    return out


def forecast(
    num: Numbers,
    verdicts: dict[RuleName, Verdict],
    blogs: int,
    reports: int,
    course: Course,
    person: Person,
    talk: PresentingCheck | None = None,
) -> str:
    """One sentence: why qualification is out of reach, or how many misses are left."""
    why: list[str] = []
    who = person.subject
    if num.excluded:
        has = person.verb("have", "has")
        why.append(f"{has} {n(num.fails, 'fail')} and {n(num.limit, 'fail')} exclude {who} from the exam")
    if not num.reachable:
        why.append(
            f"{num.required} on time are needed and at most {num.possible} still can be "
            f"({num.on_time} on time, {num.remaining} not yet due)"
        )
    if verdicts["blog"] == "failed":
        why.append(f"the term ended with {blogs} of {n(course.rules.blog_posts, 'blog post')} by {who}")
    if verdicts["report"] == "failed":
        why.append(
            f"the term ended with {reports} of {n(course.rules.progress_reports, 'progress report')} by {who}"
        )
    if verdicts["paper"] == "failed":
        why.append("the group paper was not accepted")
    if talk is not None and talk.verdict == "failed" and talk.forecast:
        why.append(talk.forecast)
    if why:
        return "Qualification is no longer reachable because " + "; ".join(why) + "."
    extra = f" {talk.forecast}" if talk is not None and talk.forecast else ""
    return _assignment_forecast(num, person) + "." + extra


def _assignment_forecast(num: Numbers, person: Person) -> str:
    if num.counted == 0:
        return "No assignment counts in this course, so none can be missed"
    head = "Nothing is due yet" if num.due == 0 else f"{num.on_time_due} of {num.due} due so far on time"
    early = num.on_time - num.on_time_due
    if early:
        head += f" (plus {early} handed in early)"
    rest = num.remaining
    if rest == 0:
        return f"{head}; none remain, and {person.verb('have', 'has')} the {num.required} needed"
    if num.on_time >= num.required:
        return f"{head}; {person.verb('already have', 'already has')} the {num.required} needed"
    if num.can_miss == 0:
        tail = "the remaining one" if rest == 1 else f"all of the remaining {rest}"
        return f"{head}; {person.subject} must hand in {tail} on time"
    more = " more" if num.due > num.on_time_due else ""  # "more" only after a miss
    return f"{head}; {person.subject} can miss at most {num.can_miss}{more} of the remaining {rest}"
