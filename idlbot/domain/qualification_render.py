"""`/idl status`: a Standing as Mattermost markdown, in the reader's zone.

The rules are a top-level list and their items a nested one: a plain line after a list
item would be glued onto that item's paragraph (CommonMark lazy continuation). Free
text that did not come from our templates (override reasons, tutors' notes, wiki slugs,
usernames, the label) goes through `defuse`. The output depends only on the
arguments, so tests compare it literally.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from idlbot.domain.defuse import defuse
from idlbot.domain.kept_text import KeptTexts
from idlbot.domain.person import YOU, Person
from idlbot.domain.qualification import ItemLine, Standing
from idlbot.domain.qualification_forecast import RuleName, Verdict
from idlbot.domain.timefmt import format_clock, next_minute, relative, relative_steady_until

MARKS: dict[Verdict, str] = {"met": "✓", "failed": "✗", "pending": "⏳"}
TITLES: dict[RuleName, str] = {
    "assignments": "Assignments on time",
    "presentations": "Presentations",
    "blog": "Blog posts",
    "report": "Progress reports",
    "paper": "Group paper",
    "presenting": "Presenting the team's progress",
}
OVERALL = {
    "yes": "qualified for the exam",
    "no": "not qualified for the exam",
    "open": "not decided yet",
}


def render_status(
    standing: Standing, student_label: str, *, tz: ZoneInfo, now: datetime, person: Person = YOU
) -> str:
    """The private status reply: header, one list item per rule with its records, the
    forecast, and the risk reasons if any. `person` is whom the records address, as
    `standing` was evaluated for (staff read "counts for its author, not for alice")."""
    lines = [
        f"#### Exam qualification: {defuse(student_label)}",
        f"As of {format_clock(now, tz)}: {OVERALL[standing.qualified]}.",
        "",
    ]
    for rule in standing.rules:
        lines.append(f"- {MARKS[rule.verdict]} **{TITLES[rule.name]}:** {rule.summary}")
        lines.extend(f"  - {item_text(item, tz=tz, now=now, person=person)}" for item in rule.items)
    lines += ["", f"**Forecast:** {standing.forecast}"]
    if standing.at_risk:
        lines.append("**At risk:** " + " ".join(standing.risk_reasons))
    return "\n".join(lines)


def kept_status(
    standing: Standing, student_label: str, *, tz: ZoneInfo, now: datetime, person: Person = YOU
) -> str:
    """`render_status`, kept while it reads the same (`kept_text`): `evaluate` keeps a
    standing until a write or a deadline changes it, and its text moves only with the
    minute it is "As of" and the open assignments' "in 2 days". Rendering was 12 % of a
    status request under load (py-spy), more than half of the command's own share."""
    key = (id(standing), student_label, tz, person)
    text = _STATUSES.get(key, now, standing)
    if text is None:
        text = render_status(standing, student_label, tz=tz, now=now, person=person)
        _STATUSES.put(key, now, status_steady_until(standing, tz, now), text, standing)
    return text


_STATUSES: KeptTexts[tuple[int, str, ZoneInfo, Person]] = KeptTexts(1024)  # 500 students, some zones


def status_steady_until(standing: Standing, tz: ZoneInfo, now: datetime) -> datetime:
    """The first instant after `now` at which `render_status` of this standing may read
    differently: the reader's next minute ("As of 12:04"; it comes no later than their
    midnight, after which "tomorrow" would change), or an open assignment's relative time."""
    until = next_minute(now, tz)
    for rule in standing.rules:
        for item in rule.items:
            if item.status == "open" and item.due is not None:
                until = min(until, relative_steady_until(item.due, now))
    return until


def item_text(item: ItemLine, *, tz: ZoneInfo, now: datetime, person: Person = YOU) -> str:
    """One record, e.g. `a04: late (pushed Wed 24 Oct 2018, 09:12 CEST, due …)`. Only an
    open assignment's "in 2 days" depends on `now`; every other record's text is
    memoized (defusing and formatting dates was most of rendering a status)."""
    if item.status == "open" and item.due is not None:
        due = format_clock(item.due, tz)
        return f"{defuse(item.key)}: not yet due (due {due}, {relative(item.due, now, tz)})"
    return _fixed_item_text(item, tz, person)


@lru_cache(maxsize=8192)
def _fixed_item_text(item: ItemLine, tz: ZoneInfo, person: Person) -> str:
    key = defuse(item.key)
    if item.status in ("post", "report", "team-report"):
        when = f"posted {format_clock(item.at, tz)}" if item.at is not None else "posted"
        if item.status == "team-report":
            return f"{key}: by another team member ({when}); counts for its author, not for {person.subject}"
        return f"{key}: {when}"
    if item.status in ("presented", "fail"):
        what = "explained the solution" if item.status == "presented" else "fail: could not explain it"
        return f"{key}: {what} {_when(item.at, tz)}{_who(item.by, item.note)}"
    return f"{key}: {_assignment_text(item, tz)}"


def _assignment_text(item: ItemLine, tz: ZoneInfo) -> str:
    due = f"due {format_clock(item.due, tz)}" if item.due is not None else "no due date"
    if item.status == "excused":
        return f"excused{_who(item.by, item.reason)}, neither counted nor missed"
    if item.status == "open":  # without a due date: with one, `item_text` says how soon
        return f"not yet due ({due})"
    if item.status == "missed":
        return f"missed ({due}){_override(item, tz)}"
    if item.status == "failed":
        hand_in = {"on-time": "on time", "late": "late"}.get(item.handed_in or "", "not handed in")
        failed = f"the presentation failed {_when(item.presented_at, tz)}{_who(item.presented_by, item.note)}"
        return f"{hand_in}, but {failed}" if item.handed_in == "on-time" else f"{hand_in}, and {failed}"
    label = "on time" if item.status == "on-time" else "late"
    if item.source == "override":
        return label + ("" if item.status == "on-time" else f" ({due})") + _override(item, tz)
    pushed = f"pushed {format_clock(item.at, tz)}" if item.at is not None else "pushed"
    return f"{label} ({pushed})" if item.status == "on-time" else f"{label} ({pushed}, {due})"


def _override(item: ItemLine, tz: ZoneInfo) -> str:
    """` (set by stober on <when>: reason)` for a staff override, else nothing."""
    if item.source != "override":
        return ""
    who = f" by {defuse(item.by)}" if item.by else ""
    when = f" {_when(item.at, tz)}" if item.at is not None else ""
    why = f": {defuse(item.reason)}" if item.reason else ""
    return f" (set{who}{when}{why})"


def _when(at: datetime | None, tz: ZoneInfo) -> str:
    return f"on {format_clock(at, tz)}" if at is not None else "on an unrecorded date"


def _who(by: str | None, text: str | None) -> str:
    """` (tutor1: note)`, ` (tutor1)`, ` (note)` or nothing."""
    parts = [defuse(p) for p in (by, text) if p]
    return f" ({': '.join(parts)})" if parts else ""
