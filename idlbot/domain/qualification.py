"""Exam qualification: one student's ledger → per-rule verdicts, a forecast and risk.
(Over 300 lines: the five rules share one set of counts, `qualification_forecast.Numbers`;
the forecast and risk texts made from them are in that module.)

The rules (the course's "who may sit the exam"; the numbers come from `course.rules`):

* **assignments** — `required = ceil(quota * counted)` on time, computed exactly with
  `Fraction(str(quota))`, because `0.56 * 25` in floats is 14.000000000000002 and would
  round up to 15. `counted` is every course assignment except the excused ones: an
  excused assignment is neither counted nor missed. An assignment is *on time* when its
  effective hand-in (below) says so and no failed presentation of it exists; a late
  hand-in is not on time; no hand-in once due is *missed*; no hand-in before the due
  instant (`due > now`) is *open* and is never counted as missed. An on-time hand-in
  before the due counts at once (it was handed in early).
* **presentations** — every failed presentation is one fail, whatever the assignment;
  `fails >= fails_to_exclusion` excludes the student. An excused assignment keeps its
  fails (the excuse is about the hand-in, not the explanation).
* **blog** / **report** — distinct wiki slugs in the student's own ledger. A progress
  report counts only for the member who created it; `team_reports` (the current team's
  reports, by anybody) are only shown, so "your team has 2, none by you" can be said.
* **paper** — `ledger.group_paper`: True met, False failed, None pending.

The effective hand-in of an assignment: the latest staff override (greatest `at`, an
undated override ranks before dated ones, equal times go to the later record) always
beats GitLab; among GitLab records, the earliest on-time one, else the earliest late
one, else the last record (a re-push after the deadline does not undo an on-time tag).

Verdicts: assignments are *met* once `required` are on time (a later failed presentation
can still take that back), *failed* once `on_time + open < required`, else *pending*.
blog/report are *pending* until the course's end date has passed in the course zone,
then *failed* if unmet. Presentations are *met* below the limit, *failed* at it.
`qualified` is "no" if any rule failed, "yes" if all are met, else "open".

At risk (with a severity for sorting, highest first): 3 — cannot qualify any more
(excluded, assignments out of reach, a project rule failed); 2 — one fail from
exclusion, or no misses left while assignments remain; 1 — a project item still unmet
in the last three weeks of the term (or after it, for the paper).
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from idlbot.domain import qualification_forecast as wording
from idlbot.domain import standing_keep
from idlbot.domain.course import Course
from idlbot.domain.ledger import HandIn, HandInStatus, Presentation, Student, StudentLedger, WikiPost
from idlbot.domain.person import YOU, Person
from idlbot.domain.presenters import presenting_classes
from idlbot.domain.presenting_rule import PresentingCheck, check
from idlbot.domain.qualification_forecast import (
    Numbers,
    RuleName,
    Verdict,
    n,
    quota_text,
    required_on_time,
    rounded_up,
)

Qualified = Literal["yes", "no", "open"]
ItemStatus = Literal[
    "on-time",
    "late",
    "failed",
    "missed",
    "excused",
    "open",  # one per course assignment
    "presented",
    "fail",  # presentations
    "post",
    "report",
    "team-report",  # blog posts, own reports, a team-mate's report
]
RULE_NAMES: tuple[RuleName, ...] = ("assignments", "presentations", "blog", "report", "paper")


def rule_names(course: Course) -> tuple[RuleName, ...]:
    """The course's rules in order: the five, and "presenting" where [presenters] makes it
    one (`domain/presenting_rule.py`)."""
    return (*RULE_NAMES, "presenting") if course.rules.presenting else RULE_NAMES


@dataclass(frozen=True)
class ItemLine:
    """One record behind a number. Times stay instants; the renderer picks the zone.
    For a "failed" assignment, `handed_in` says what the hand-in was and `presented_*`
    and `note` describe the failed presentation."""

    key: str  # assignment id or wiki slug
    status: ItemStatus
    at: datetime | None = None  # pushed / overridden / posted / presented
    due: datetime | None = None
    by: str | None = None
    source: Literal["gitlab", "override"] | None = None
    reason: str | None = None  # free text from an override
    handed_in: HandInStatus | None = None
    presented_at: datetime | None = None
    presented_by: str | None = None
    note: str | None = None  # free text from a tutor


@dataclass(frozen=True)
class RuleResult:
    name: RuleName
    verdict: Verdict
    summary: str
    items: tuple[ItemLine, ...] = ()


@dataclass(frozen=True)
class Standing:
    """Where one student stands. `can_miss` is capped to `0 … remaining`."""

    student: Student
    rules: tuple[RuleResult, ...]
    forecast: str
    qualified: Qualified
    at_risk: bool
    risk_reasons: tuple[str, ...]
    severity: int  # 0 not at risk … 3 cannot qualify
    on_time_count: int
    on_time_due: int  # on time among the assignments already due
    due_count: int  # counted assignments already due
    counted_total: int
    excused_count: int
    required: int
    remaining: int  # open: not yet due, not excused, nothing handed in
    possible: int
    can_miss: int
    fails: int
    excluded: bool  # fails reached `fails_to_exclusion`: no exam this term, whatever else
    blog_count: int
    report_count: int

    def rule(self, name: RuleName) -> RuleResult:
        return next(r for r in self.rules if r.name == name)


def effective_hand_in(hand_ins: Sequence[HandIn]) -> HandIn | None:
    """The record that decides an assignment (rules in the module docstring)."""
    if len(hand_ins) <= 1:  # the common case, and a large share of the overview's time
        return hand_ins[0] if hand_ins else None
    overrides = [(i, h) for i, h in enumerate(hand_ins) if h.source == "override"]
    if overrides:
        return max(overrides, key=lambda o: (_stamp(o[1].at, -math.inf), o[0]))[1]
    rank = {"on-time": 0, "late": 1}
    pushes = [(i, h) for i, h in enumerate(hand_ins) if h.source == "gitlab"]
    decided = [(i, h) for i, h in pushes if h.status in rank]
    if decided:
        return min(decided, key=lambda o: (rank[o[1].status], _stamp(o[1].at, math.inf), o[0]))[1]
    return pushes[-1][1] if pushes else None


def _stamp(at: datetime | None, missing: float) -> float:
    return at.timestamp() if at is not None else missing


def when_class(course: Course, now: datetime) -> tuple[object, ...]:
    """Everything `evaluate` reads from `now`, and nothing else: which deadlines have
    passed, the course-local date (days left), and the classes left to present in. Two
    instants with the same class give every ledger the same standing. Deadlines and
    class starts are counted in their sorted instants: the count of those passed tells
    exactly which (equal instants pass together). The last answer is kept: an overview
    asks it for every student at one instant."""
    global _last_class
    last = _last_class
    if last[0] is course and last[1] == now:
        return last[2]
    dues, starts = _instants(course)
    left = len(starts) - bisect.bisect_right(starts, now) if course.rules.presenting else None
    found = (bisect.bisect_right(dues, now), now.astimezone(course.tz).date(), left)
    _last_class = (course, now, found)  # one assignment: a reader sees the old or the new
    return found


_last_class: tuple[Course | None, datetime | None, tuple[object, ...]] = (None, None, ())


@functools.lru_cache(maxsize=16)
def _instants(course: Course) -> tuple[list[datetime], list[datetime]]:
    """The course's deadlines and the starts of its presenting classes, each sorted."""
    return sorted(a.due for a in course.assignments), sorted(m.start for m in presenting_classes(course))


def evaluate(
    ledger: StudentLedger,
    course: Course,
    *,
    now: datetime,
    team_reports: Sequence[WikiPost] = (),
    person: Person = YOU,
) -> Standing:
    """The student's standing at `now` (aware). Pure: same inputs, same Standing. The
    texts address `person`: the student ("you"), or staff reading about them.

    The last standing of each ledger object is kept, with the course, `when_class(now)`
    and `person` it was worked out for (`standing_keep`: why, and for how long)."""
    if team_reports:
        return _evaluate(ledger, course, now, team_reports, person)
    key = (course, when_class(course, now), person)
    standing = standing_keep.kept(ledger, key)
    if standing is None:
        standing = _evaluate(ledger, course, now, team_reports, person)
        standing_keep.keep(ledger, key, standing)
    return standing


def _evaluate(
    ledger: StudentLedger, course: Course, now: datetime, team_reports: Sequence[WikiPost], person: Person
) -> Standing:
    items = _assignment_items(ledger, course, now)
    counted = [i for i in items if i.status != "excused"]
    due = [i for i in counted if i.due is not None and i.due <= now]
    fail_count = sum(p.outcome == "fail" for p in ledger.presentations)
    num = Numbers(
        on_time=sum(i.status == "on-time" for i in counted),
        on_time_due=sum(i.status == "on-time" for i in due),
        due=len(due),
        counted=len(counted),
        excused=len(items) - len(counted),
        required=required_on_time(course.rules.on_time_quota, len(counted)),
        remaining=sum(i.status == "open" for i in counted),
        fails=fail_count,
        limit=course.rules.fails_to_exclusion,
        days_left=(course.end - now.astimezone(course.tz).date()).days,
    )
    blogs = _own(ledger.posts, "blog")
    reports = _own(ledger.posts, "report")
    own_slugs = {p.slug for p in reports}
    others = _distinct(p for p in team_reports if p.kind == "report" and p.slug not in own_slugs)
    rules: tuple[RuleResult, ...] = (
        _assignment_rule(num, course.rules.on_time_quota, items),
        _presentation_rule(num, ledger.presentations, person),
        _blog_rule(num, course.rules.blog_posts, blogs),
        _report_rule(num, course.rules.progress_reports, reports, others, person),
        _paper_rule(course.rules.group_paper, ledger.group_paper),
    )
    talk: PresentingCheck | None = None
    if course.rules.presenting:
        talk = check(ledger, course, now=now, person=person)
        rules = (*rules, RuleResult("presenting", talk.verdict, talk.summary))
    verdicts = {r.name: r.verdict for r in rules}
    qualified: Qualified = (
        "no"
        if "failed" in verdicts.values()
        else "yes"
        if all(v == "met" for v in verdicts.values())
        else "open"
    )
    risks = wording.risks(num, verdicts, len(blogs), len(reports), course)
    if talk is not None and talk.risk is not None:
        risks.append(talk.risk)
    return Standing(
        student=ledger.student,
        rules=rules,
        forecast=wording.forecast(num, verdicts, len(blogs), len(reports), course, person, talk),
        qualified=qualified,
        at_risk=bool(risks),
        risk_reasons=tuple(text for _, text in risks),
        severity=max((level for level, _ in risks), default=0),
        on_time_count=num.on_time,
        on_time_due=num.on_time_due,
        due_count=num.due,
        counted_total=num.counted,
        excused_count=num.excused,
        required=num.required,
        remaining=num.remaining,
        possible=num.possible,
        can_miss=num.can_miss,
        fails=num.fails,
        excluded=num.excluded,
        blog_count=len(blogs),
        report_count=len(reports),
    )


def _assignment_items(ledger: StudentLedger, course: Course, now: datetime) -> tuple[ItemLine, ...]:
    by_assignment: dict[str, list[HandIn]] = {}
    for hand_in in ledger.hand_ins:
        by_assignment.setdefault(hand_in.assignment_id, []).append(hand_in)
    first_fail: dict[str, Presentation] = {}
    for p in sorted(ledger.presentations, key=lambda p: p.at):
        if p.outcome == "fail":
            first_fail.setdefault(p.assignment_id, p)
    return tuple(
        _assignment_item(
            a.id, a.due, effective_hand_in(by_assignment.get(a.id, ())), first_fail.get(a.id), a.due <= now
        )
        for a in course.assignments
    )


@functools.lru_cache(maxsize=8192)  # a course's few assignments x its students' hand-ins
def _assignment_item(
    key: str, due: datetime, hand_in: HandIn | None, fail: Presentation | None, past: bool
) -> ItemLine:
    """One assignment's line; `past`: its deadline is not after now. Memoized because a
    frozen dataclass of eleven fields is slow to build and every `/idl status` and every
    overview built the same ones again (`now` enters only through `past`)."""
    status = hand_in.status if hand_in is not None else None
    handed: HandInStatus | None = status if status in ("on-time", "late") else None
    state: ItemStatus
    if status == "excused":
        state = "excused"
    elif fail is not None:
        state = "failed"
    elif status == "on-time":
        state = "on-time"
    elif status == "late":
        state = "late"
    else:
        state = "missed" if past else "open"
    return ItemLine(
        key=key,
        status=state,
        at=hand_in.at if hand_in is not None else None,
        due=due,
        by=hand_in.by if hand_in is not None else None,
        source=hand_in.source if hand_in is not None else None,
        reason=hand_in.reason if hand_in is not None else None,
        handed_in=handed,
        presented_at=fail.at if fail is not None else None,
        presented_by=fail.by if fail is not None else None,
        note=fail.note if fail is not None else None,
    )


def _own(posts: Iterable[WikiPost], kind: Literal["blog", "report"]) -> tuple[WikiPost, ...]:
    return _distinct(p for p in posts if p.kind == kind)


def _distinct(posts: Iterable[WikiPost]) -> tuple[WikiPost, ...]:
    """One per slug (a page edited twice is still one post), oldest first."""
    seen: dict[str, WikiPost] = {}
    for post in posts:
        seen.setdefault(post.slug, post)
    return tuple(sorted(seen.values(), key=lambda p: (p.at, p.slug)))


def _assignment_rule(num: Numbers, quota: float, items: tuple[ItemLine, ...]) -> RuleResult:
    verdict: Verdict = "met" if num.on_time >= num.required else "failed" if not num.reachable else "pending"
    rounding = ", rounded up" if rounded_up(quota, num.counted) else ""
    summary = f"{num.on_time} of {num.counted} on time; {num.required} needed ({quota_text(quota)}{rounding})"
    if num.excused:
        summary += f"; {num.excused} excused: neither counted nor missed"
    return RuleResult("assignments", verdict, summary, items)


def _presentation_rule(num: Numbers, presentations: Sequence[Presentation], person: Person) -> RuleResult:
    items = tuple(
        ItemLine(
            p.assignment_id, "fail" if p.outcome == "fail" else "presented", at=p.at, by=p.by, note=p.note
        )
        for p in sorted(presentations, key=lambda p: (p.at, p.assignment_id))
    )
    if num.limit <= 0:
        return RuleResult("presentations", "met", f"{n(num.fails, 'fail')}; fails do not exclude", items)
    if num.excluded:
        return RuleResult("presentations", "failed", f"{n(num.fails, 'fail')}: excluded from the exam", items)
    left = num.limit - num.fails
    more = "one more excludes" if left == 1 else f"{left} more exclude"
    head = "no fails" if num.fails == 0 else n(num.fails, "fail")
    return RuleResult("presentations", "met", f"{head} ({more} {person.subject} from the exam)", items)


def _project_verdict(have: int, need: int, num: Numbers) -> Verdict:
    return "met" if have >= need else "failed" if num.days_left < 0 else "pending"


def _count(count: int, noun: str) -> str:
    return f"no {noun}s" if count == 0 else n(count, noun)


def _blog_rule(num: Numbers, need: int, blogs: tuple[WikiPost, ...]) -> RuleResult:
    items = tuple(ItemLine(p.slug, "post", at=p.at) for p in blogs)
    summary = f"{_count(len(blogs), 'blog post')} ({need} needed)"
    return RuleResult("blog", _project_verdict(len(blogs), need, num), summary, items)


def _report_rule(
    num: Numbers, need: int, reports: tuple[WikiPost, ...], others: tuple[WikiPost, ...], person: Person
) -> RuleResult:
    items = tuple(ItemLine(p.slug, "report", at=p.at) for p in reports) + tuple(
        ItemLine(p.slug, "team-report", at=p.at) for p in others
    )
    who, team = person.subject, f"{person.possessive} team has"
    summary = f"{_count(len(reports), 'progress report')} by {who} ({need} needed)"
    if others and reports:
        summary += f"; {team} {n(len(others), 'more report')} by other members"
    elif others:
        summary += f"; {team} {n(len(others), 'report')}, none by {who} (a report counts for its author)"
    return RuleResult("report", _project_verdict(len(reports), need, num), summary, items)


def _paper_rule(required: bool, paper: bool | None) -> RuleResult:
    if not required:
        return RuleResult("paper", "met", "not required in this course")
    if paper is None:
        return RuleResult("paper", "pending", "group paper not recorded yet")
    if paper:
        return RuleResult("paper", "met", "group paper accepted")
    return RuleResult("paper", "failed", "group paper not accepted")
