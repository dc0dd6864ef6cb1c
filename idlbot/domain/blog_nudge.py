"""The weekly learning-blog nudge: which weeks get one, and what it says.

The course asks every student for about one personal learning-blog post per week on the
GitLab wiki. A student with no post in the current *course week* gets one private
nudge at the configured moment (`[blog_nudge] at`, "sun 18:00" in 2018).

The course week is Monday 00:00 to Sunday 24:00 on the course zone's wall clock, the
week people plan with; a nudge looks at the posts from that Monday 00:00 up to its own
instant. The nudge is planned on the configured weekday of every course week from the
course start to its end, and a week is skipped when it is mostly a break: the nudge's
own day is lecture-free, or four or more of the week's seven days are. So the whole
Christmas break of 2018 (2018-12-22 .. 2019-01-06) has no nudge: its Sundays 23 Dec,
30 Dec and 6 Jan are lecture-free days. A nudge refers to its week: after Sunday 24:00
it is not sent late any more (the reminder runner's `deadline`).

Pure: the planner and the counting are tested without a database or an event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from idlbot.domain.course import Course
from idlbot.domain.ledger import WikiPost
from idlbot.domain.reminders import Occurrence, routine_firing, weekly_days
from idlbot.domain.schedule import wall_clock

__all__ = [
    "ROUTINE",
    "BlogNudgeSettings",
    "blog_counts",
    "course_week",
    "nudge_text",
    "plan_nudges",
]

ROUTINE = "blog_nudge"
_WEEK = timedelta(days=7)


@dataclass(frozen=True)
class BlogNudgeSettings:
    """`[blog_nudge]`. Absent table: off (`enabled=False`); a present table is on unless
    it says `enabled = false`. `weekday` 0 = Monday … 6 = Sunday, `at` wall-clock time."""

    enabled: bool = False
    weekday: int = 6
    at: time = time(18, 0)


def course_week(day: date) -> tuple[date, date]:
    """(Monday, Sunday) of the course week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def mostly_lecture_free(course: Course, day: date) -> bool:
    """True when four or more days of `day`'s course week are lecture-free."""
    monday, _ = course_week(day)
    free = sum(course.is_lecture_free(monday + timedelta(days=i)) is not None for i in range(7))
    return free >= 4


def nudge_days(course: Course, settings: BlogNudgeSettings) -> Iterator[date]:
    """The days a nudge is planned on (rules in the module docstring)."""
    for day in weekly_days(course, course.start, settings.weekday):
        if not mostly_lecture_free(course, day):
            yield day


def plan_nudges(course: Course, settings: BlogNudgeSettings) -> Iterator[Occurrence]:
    """One firing per nudge day; its key names the week's nudge day, so each student is
    nudged at most once a week (the DM keys are `<firing key>:<user id>`)."""
    if not settings.enabled:
        return
    for day in nudge_days(course, settings):
        fire_at = wall_clock(day, settings.at, course.tz)
        _, sunday = course_week(day)
        week_end = wall_clock(sunday + timedelta(days=1), time(0, 0), course.tz)
        grace = max(week_end - fire_at, timedelta(minutes=1))
        yield routine_firing(ROUTINE, day.isoformat(), fire_at, grace=grace, deadline=week_end)


def blog_counts(posts: Iterable[WikiPost], *, week_start: datetime, now: datetime) -> tuple[int, int]:
    """(distinct blog posts up to `now`, of them since `week_start`). A page edited twice
    is one post; a post recorded with a later time does not count yet."""
    first: dict[str, datetime] = {}
    for post in posts:
        if post.kind == "blog" and post.at <= now:
            first[post.slug] = min(post.at, first.get(post.slug, post.at))
    return len(first), sum(at >= week_start for at in first.values())


def week_start(course: Course, now: datetime) -> datetime:
    """Monday 00:00 of the course week holding `now`, in the course zone."""
    monday, _ = course_week(now.astimezone(course.tz).date())
    return wall_clock(monday, time(0, 0), course.tz)


def nudge_text(total: int, monday: date) -> str:
    """The DM: what we see, what the course asks, how to mute."""
    sunday = monday + timedelta(days=6)
    so_far = (
        "no learning-blog post yet"
        if total == 0
        else ("1 learning-blog post so far" if total == 1 else f"{total} learning-blog posts so far")
    )
    return (
        f"**Learning blog:** I see no post of yours this week ({monday:%a %d %b} to {sunday:%a %d %b}); "
        f"you have {so_far} this term. The course asks for about one post per week in your blog "
        "on the GitLab wiki. (Mute these with `/idl remind off`.)"
    )
