"""What happens next: assignment dues, the weekly question deadline, exercise sessions.

All weekly series are computed on wall-clock time in the course zone: take the local
date, combine it with the local time, then attach the zone. Adding `timedelta(days=7)`
to an aware datetime would keep the UTC offset of the first week and put every session
after a DST change an hour off.

`upcoming()` does not build the whole term: each weekly series starts at the week of
`now` and stops after `limit` hits, so the cost is O(limit * series), independent of
the length of the term.
"""

from __future__ import annotations

import bisect
import functools
import heapq
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from idlbot.domain.course import Course, ExerciseGroup

Kind = Literal["assignment", "questions", "exercise"]
KINDS: frozenset[str] = frozenset({"assignment", "questions", "exercise"})

_WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Occurrence:
    """One dated thing on the course calendar.

    `key` is stable across calls and restarts ("assignment:a03",
    "questions:2018-10-23", "exercise:g1:2018-10-18"), so reminders and the outbox can
    use it to avoid sending the same notice twice.
    """

    kind: Kind
    key: str
    title: str
    at: datetime
    end: datetime | None = None
    where: str | None = None
    group_id: str | None = None


def wall_clock(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant at which clocks in `tz` show `day` `at`.

    Ambiguous times (the repeated hour when clocks go back) resolve to the first
    occurrence (fold=0). Nonexistent times (the skipped hour when clocks go forward)
    resolve to the first valid instant after them, i.e. the end of the gap: a session
    set for 02:30 on the spring-forward night happens at 03:00.
    """
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    local = naive.replace(tzinfo=tz)
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return local
    return _end_of_gap(naive, tz)


def _end_of_gap(naive: datetime, tz: ZoneInfo) -> datetime:
    """Binary-search the transition instant for a wall-clock time inside a DST gap.

    fold=1 reads `naive` with the offset after the transition and fold=0 with the one
    before; for a gap the first is earlier in UTC, and the transition lies between
    them. Second resolution, so ~12 steps for a one-hour gap.
    """
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    after = high.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0).astimezone(tz)


@dataclass(frozen=True)
class ClassMeeting:
    """One class session: its date and its start and end instants (course zone)."""

    day: date
    start: datetime
    end: datetime


def class_meetings(course: Course) -> tuple[ClassMeeting, ...]:
    """Every class of the term in order, lecture-free days left out; () without [classes].

    Wall-clock per day (module docstring), so a 09:15 class stays 09:15 after a DST change.
    """
    weekly = course.classes
    if weekly is None:
        return ()
    day = course.start + timedelta(days=(weekly.weekday - course.start.weekday()) % 7)
    found = []
    while day <= course.end:
        if course.is_lecture_free(day) is None:
            found.append(
                ClassMeeting(
                    day, wall_clock(day, weekly.start, course.tz), wall_clock(day, weekly.end, course.tz)
                )
            )
        day += _WEEK
    return tuple(found)


def upcoming(
    course: Course,
    *,
    now: datetime,
    limit: int = 5,
    kinds: Collection[str] | None = None,
    group_id: str | None = None,
    groups: Collection[str] | None = None,
) -> list[Occurrence]:
    """The next `limit` occurrences strictly after `now`, sorted by time, then key.

    `kinds` restricts to some of "assignment", "questions", "exercise" (None = all).
    `group_id` restricts the exercise sessions to that group, `groups` to those groups
    (a tutor of two; empty: no sessions at all); assignment and question deadlines
    concern every student, so they are kept.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("upcoming() needs an aware `now`")
    wanted = KINDS if kinds is None else frozenset(kinds)
    unknown = wanted - KINDS
    if unknown:
        raise ValueError(f"unknown occurrence kinds: {sorted(unknown)}")
    if limit <= 0:
        return []
    table, instants = _term(course)
    found: list[Occurrence] = []
    for occurrence in table[bisect.bisect_right(instants, now.timestamp()) :]:
        if occurrence.kind not in wanted:
            continue
        if occurrence.group_id is not None and group_id not in (None, occurrence.group_id):
            continue
        if occurrence.group_id is not None and groups is not None and occurrence.group_id not in groups:
            continue
        found.append(occurrence)
        if len(found) == limit:
            break
    return found


@functools.lru_cache(maxsize=8)
def _term(course: Course) -> tuple[tuple[Occurrence, ...], list[float]]:
    """The whole term's table, sorted, with the UTC instants for bisecting.

    Built once per course (a term is ~100 rows, a few ms): `/idl deadlines` is the
    busiest command, and regenerating the weekly series on every call cost more than
    all of the HTTP handling around it. A Course is frozen, so the cache cannot go
    stale; a reloaded config is a new Course."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)  # everything, whenever it is due
    series: list[Iterator[Occurrence]] = [_assignments(course, epoch), _questions(course, epoch)]
    series.extend(_sessions(course, g, epoch) for g in course.groups)
    table = tuple(heapq.merge(*series, key=lambda o: (o.at, o.key)))
    return table, [o.at.timestamp() for o in table]


def _assignments(course: Course, now: datetime) -> Iterator[Occurrence]:
    dues = sorted((a for a in course.assignments if a.due > now), key=lambda a: (a.due, a.id))
    for a in dues:
        yield Occurrence("assignment", f"assignment:{a.id}", a.title, a.due.astimezone(course.tz))


def _questions(course: Course, now: datetime) -> Iterator[Occurrence]:
    deadline = course.questions
    for day in _weekly_days(course, course.start, deadline.weekday, now):
        at = wall_clock(day, deadline.at, course.tz)
        if at > now:
            yield Occurrence(
                "questions", f"questions:{day.isoformat()}", deadline.name, at, where=course.questions_url
            )


def _sessions(course: Course, group: ExerciseGroup, now: datetime) -> Iterator[Occurrence]:
    for day in _weekly_days(course, group.first_session, group.weekday, now):
        at = wall_clock(day, group.start, course.tz)
        if at > now:
            yield Occurrence(
                "exercise",
                f"exercise:{group.id}:{day.isoformat()}",
                group.name,
                at,
                end=wall_clock(day, group.end, course.tz),
                where=group.room,
                group_id=group.id,
            )


def _weekly_days(course: Course, first: date, weekday: int, now: datetime) -> Iterator[date]:
    """Dates with this weekday from `first` to the course end, skipping lecture-free
    days. Starts at the first such date on or after `now`'s date in the course zone,
    not at `first`: earlier days cannot hold anything after `now`, and the callers'
    `at > now` test drops today's if it has passed."""
    day = first + timedelta(days=(weekday - first.weekday()) % 7)
    today = now.astimezone(course.tz).date()
    if day < today:
        day += _WEEK * -(-(today - day).days // 7)
    while day <= course.end:
        if course.is_lecture_free(day) is None:
            yield day
        day += _WEEK
