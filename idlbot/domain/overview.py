"""`/idl overview` and `/idl export`: the whole course (or one exercise group) at once.

Both go through `qualification.evaluate` for every student, so a student's `/idl status`,
the overview counts and the CSV row cannot disagree: there is one rule engine and no
second tally. The at-risk list is sorted by severity (cannot qualify first), then by
username, so two runs over the same ledger print the same list.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from idlbot.domain.course import Course
from idlbot.domain.defuse import defuse
from idlbot.domain.ledger import StudentLedger
from idlbot.domain.qualification import ItemStatus, Standing, evaluate, rule_names
from idlbot.domain.qualification_forecast import RuleName
from idlbot.domain.qualification_render import TITLES

ASSIGNMENT_STATES: tuple[ItemStatus, ...] = ("on-time", "late", "failed", "missed", "excused", "open")
_STATE_TITLES = ("on time", "late", "failed pres.", "missed", "excused", "not yet due")


@dataclass(frozen=True)
class RuleCounts:
    name: RuleName
    met: int
    pending: int
    failed: int


@dataclass(frozen=True)
class AssignmentCounts:
    """How many students are in each state for one assignment (keys of ASSIGNMENT_STATES)."""

    assignment_id: str
    counts: tuple[tuple[ItemStatus, int], ...]

    def count(self, state: ItemStatus) -> int:
        return dict(self.counts)[state]


@dataclass(frozen=True)
class AtRisk:
    username: str
    group_id: str | None
    team_id: str | None
    severity: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Overview:
    now: datetime
    group_id: str | None
    students: int
    qualified: int
    not_qualified: int
    open: int
    rules: tuple[RuleCounts, ...]
    assignments: tuple[AssignmentCounts, ...]
    at_risk: tuple[AtRisk, ...]

    def rule(self, name: RuleName) -> RuleCounts:
        return next(r for r in self.rules if r.name == name)


def standings(
    ledgers: Iterable[StudentLedger], course: Course, *, now: datetime, group_id: str | None = None
) -> list[tuple[StudentLedger, Standing]]:
    """Every (ledger, standing), optionally of one exercise group, by username."""
    chosen = [lg for lg in ledgers if group_id is None or lg.student.group_id == group_id]
    chosen.sort(key=lambda lg: lg.student.mattermost)
    return [(lg, evaluate(lg, course, now=now)) for lg in chosen]


def build_overview(
    ledgers: Iterable[StudentLedger], course: Course, *, now: datetime, group_id: str | None = None
) -> Overview:
    """Counts per rule, per-assignment states and the at-risk list. `group_id` limits it
    to one exercise group (a tutor's view); the student's *current* group decides."""
    return summarize(
        standings(ledgers, course, now=now, group_id=group_id), course, now=now, group_id=group_id
    )


def summarize(
    pairs: Sequence[tuple[StudentLedger, Standing]],
    course: Course,
    *,
    now: datetime,
    group_id: str | None = None,
) -> Overview:
    """`build_overview` from standings already evaluated (the bot evaluates them in slices,
    see `idlbot/slices.py`), in the order given.

    The last summary of each course and group is kept with its pairs. When every pair is
    the same ledger and standing object again (`evaluate` keeps standings until a write or
    a deadline changes them), the counts are the same: only `now` is new. Counting 500
    students took 4 ms of the event loop, at each overview asked again."""
    key = (course, group_id)
    kept = _summaries.get(key)
    if kept is not None and _same_pairs(kept[0], pairs):
        return replace(kept[1], now=now)
    summary = _summarize(pairs, course, now=now, group_id=group_id)
    if len(_summaries) >= KEEP_SUMMARIES:
        _summaries.clear()
    _summaries[key] = (tuple(pairs), summary)  # holding the pairs keeps their ids from reuse
    return summary


KEEP_SUMMARIES = 16
_summaries: dict[tuple[Course, str | None], tuple[tuple[tuple[StudentLedger, Standing], ...], Overview]] = {}


def _same_pairs(
    kept: Sequence[tuple[StudentLedger, Standing]], pairs: Sequence[tuple[StudentLedger, Standing]]
) -> bool:
    """The same objects in the same order (by identity: comparing values costs as much as
    counting them)."""
    return len(kept) == len(pairs) and all(
        a is c and b is d for (a, b), (c, d) in zip(kept, pairs, strict=True)
    )


def _summarize(
    pairs: Sequence[tuple[StudentLedger, Standing]],
    course: Course,
    *,
    now: datetime,
    group_id: str | None,
) -> Overview:
    verdicts = {name: {"met": 0, "pending": 0, "failed": 0} for name in rule_names(course)}
    states = {a.id: dict.fromkeys(ASSIGNMENT_STATES, 0) for a in course.assignments}
    qualified = {"yes": 0, "no": 0, "open": 0}
    risky: list[AtRisk] = []
    for ledger, standing in pairs:
        qualified[standing.qualified] += 1
        for rule in standing.rules:
            verdicts[rule.name][rule.verdict] += 1
        for item in standing.rule("assignments").items:
            states[item.key][item.status] += 1
        if standing.at_risk:
            student = ledger.student
            risky.append(
                AtRisk(
                    student.mattermost,
                    student.group_id,
                    student.team_id,
                    standing.severity,
                    standing.risk_reasons,
                )
            )
    risky.sort(key=lambda r: (-r.severity, r.username))
    return Overview(
        now=now,
        group_id=group_id,
        students=len(pairs),
        qualified=qualified["yes"],
        not_qualified=qualified["no"],
        open=qualified["open"],
        rules=tuple(RuleCounts(name, v["met"], v["pending"], v["failed"]) for name, v in verdicts.items()),
        assignments=tuple(AssignmentCounts(a, tuple(c.items())) for a, c in states.items()),
        at_risk=tuple(risky),
    )


def render_overview(ov: Overview, *, title: str, limit: int = 50) -> str:
    """Markdown for instructors and tutors. Only the first `limit` at-risk students are
    listed (a post has a size limit); the CSV export has everybody. Usernames are
    printed bold, never as @-mentions, so the overview does not notify the students."""
    lines = [
        f"#### {defuse(title)}",
        f"{ov.students} students: {ov.qualified} qualified, {ov.not_qualified} cannot qualify, "
        f"{ov.open} open; {len(ov.at_risk)} at risk.",
        "",
        "| Rule | ✓ met | ⏳ pending | ✗ failed |",
        "|:--|--:|--:|--:|",
        *(f"| {TITLES[r.name]} | {r.met} | {r.pending} | {r.failed} |" for r in ov.rules),
    ]
    if ov.assignments:
        lines += [
            "",
            "| Assignment | " + " | ".join(_STATE_TITLES) + " |",
            "|:--" + "|--:" * len(_STATE_TITLES) + "|",
        ]
        for a in ov.assignments:
            cells = " | ".join(str(a.count(s)) for s in ASSIGNMENT_STATES)
            lines.append(f"| {defuse(a.assignment_id)} | {cells} |")
    if ov.at_risk:
        lines += ["", f"**At risk** ({len(ov.at_risk)}, most severe first):"]
        for r in ov.at_risk[:limit]:
            where = ", ".join(defuse(x) for x in (r.group_id, r.team_id) if x)
            where = f" ({where})" if where else ""
            lines.append(f"- **{defuse(r.username)}**{where}: {' '.join(r.reasons)}")
        if len(ov.at_risk) > limit:
            lines.append(f"- … and {len(ov.at_risk) - limit} more (`/idl export` has everybody)")
    return "\n".join(lines)


def csv_header(course: Course) -> list[str]:
    """The export's columns, in this order; the assignment columns are the course's ids."""
    return [
        "mattermost", "gitlab", "group", "team",
        *(a.id for a in course.assignments),
        "on_time", "due", "required", "remaining", "can_miss", "fails", "blog", "reports", "paper",
        *(f"rule_{name}" for name in rule_names(course)),
        "qualified", "at_risk", "reasons",
    ]  # fmt: skip


def ledger_csv(ledgers: Iterable[StudentLedger], course: Course, *, now: datetime) -> str:
    """The whole ledger as RFC 4180 CSV (CRLF line ends, minimal quoting), one row per
    student sorted by username. Cells that a spreadsheet would run as a formula get a
    leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_header(course))
    for ledger, standing in standings(ledgers, course, now=now):
        writer.writerow([_cell(c) for c in _row(ledger, standing)])
    return out.getvalue()


def _row(ledger: StudentLedger, s: Standing) -> list[str]:
    student = ledger.student
    paper = {True: "yes", False: "no", None: "pending"}[ledger.group_paper]
    return [
        student.mattermost, student.gitlab or "", student.group_id or "", student.team_id or "",
        *(item.status for item in s.rule("assignments").items),
        *(str(x) for x in (s.on_time_count, s.due_count, s.required, s.remaining, s.can_miss, s.fails)),
        str(s.blog_count), str(s.report_count), paper,
        *(r.verdict for r in s.rules),
        s.qualified, "yes" if s.at_risk else "no", " ".join(s.risk_reasons),
    ]  # fmt: skip


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "@", "\t", "\r") else text
