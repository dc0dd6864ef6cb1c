"""The weekly at-risk digest for staff: who, and why, in a few lines.

Tutors get the students of their own exercise groups, instructors the whole course.
"At risk" is the overview's definition (`Standing.at_risk`, with its reasons and
severity: cannot qualify, one step from it, a project item still missing late in the
term), so the digest and `/idl overview` never disagree. Highest severity first, then
by name. Usernames are defused: the digest is read, not a way to ping students.

An empty digest: an instructor gets one line saying nobody is at risk (they asked for a
weekly look at the course, and silence would look like a broken bot); a tutor whose
groups have nobody at risk gets nothing (a line every week per tutor would be noise).
Planned on the configured weekday and time of every course week, lecture-free days
left out (no digest in the Christmas break). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta

from idlbot.domain.course import Course
from idlbot.domain.defuse import defuse
from idlbot.domain.early_warnings import WarningSettings
from idlbot.domain.qualification import Standing
from idlbot.domain.reminders import Occurrence, routine_firing, weekly_days
from idlbot.domain.schedule import wall_clock

__all__ = ["DIGEST_ROUTINE", "digest_text", "plan_digests", "tutor_groups"]

DIGEST_ROUTINE = "warnings_digest"


def plan_digests(course: Course, settings: WarningSettings) -> Iterator[Occurrence]:
    """One firing per course week; the key names the day, the DM keys add the recipient."""
    if not settings.send_digest:
        return
    for day in weekly_days(course, course.start, settings.digest_weekday):
        at = wall_clock(day, settings.digest_at, course.tz)
        grace, deadline = timedelta(hours=12), at + timedelta(days=1)
        yield routine_firing(DIGEST_ROUTINE, day.isoformat(), at, grace=grace, deadline=deadline)


def tutor_groups(course: Course, tutor: str) -> tuple[str, ...]:
    """The ids of the exercise groups `tutor` runs."""
    return tuple(g.id for g in course.groups if tutor in g.tutors)


def digest_text(standings: Iterable[Standing], *, scope: str, day: date, always: bool) -> str | None:
    """The digest of `standings` (the recipient's students), or None when nobody is at
    risk and `always` is False."""
    everyone = list(standings)
    risky = sorted((s for s in everyone if s.at_risk), key=lambda s: (-s.severity, s.student.mattermost))
    head = f"**At-risk students, week of {day:%a %d %b %Y}** ({scope}):"
    if not risky:
        return f"{head} nobody is at risk." if always else None
    lines = [f"{head} {len(risky)} of {len(everyone)} students."]
    for s in risky:
        group = f" ({defuse(s.student.group_id)})" if s.student.group_id else ""
        lines.append(f"- {defuse('@' + s.student.mattermost)}{group}: {' '.join(s.risk_reasons)}")
    # no "@student" even in a code span: the server's mention parser reads code spans too
    lines.append(
        "`/idl status` with a student's username shows their records, `/idl overview` the whole picture."
    )
    return "\n".join(lines)
