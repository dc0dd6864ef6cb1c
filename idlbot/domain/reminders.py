"""Reminder planning: config rules + custom reminders → dated firings, and the grace rule.
(Over 300 lines: the planner and the grace rule are one algorithm over one set of occurrences.)

Pure and synchronous, so a whole semester can be planned and checked in a unit test.

Why it looks like this:

* Every firing has a stable key (`rem:questions:2018-10-23:-24h`,
  `rem:assignment:a03:-2h`, `rem:exercise:g1:2018-10-18:08:00`,
  `rem:custom:7:2018-10-23T10:00`). The key is the idempotency key in our firings table
  and in the outbox, so a firing planned again after a restart is the same firing.
* Offsets and DST: an offset is split into whole days and the rest. Whole days are
  counted on the calendar, in the course zone ("24h before Tue 12:00" is Mon 12:00
  local, even across a DST change); the rest is absolute time ("2h before" is 2 real
  hours earlier). So "1d2h" before Tue 12:00 is Mon 10:00 local. People read "24 h
  before the deadline" as "the day before, same time"; nobody means 23 or 25 hours.
* Lecture-free days suppress recurring reminders (question deadlines, exercise
  sessions, weekly custom reminders) when the thing reminded of falls on such a day.
  Assignment deadlines are not recurring and are always reminded of.
* A firing refers to its deadline (the question cut-off, the due time, the session
  start): `decide()` never lets a reminder go out once that has passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from idlbot.domain.course import Course
from idlbot.domain.defuse import defuse
from idlbot.domain.schedule import wall_clock
from idlbot.domain.settings import ReminderRule, ReminderSettings
from idlbot.domain.when import Repeat

Decision = Literal["send", "late", "skip"]
TargetKind = Literal["channel", "members", "students", "routine"]
FiringKind = Literal["questions", "assignment", "exercise", "nudge", "custom", "routine"]

FILED = "{filed}"
"""Placeholder in the questions text, filled at firing time with the number of questions
filed so far (GitLab), or removed when the count is unknown."""

ON_TIME = timedelta(minutes=1)
"""A firing up to this late is "on time" (the scheduler wakes a little after the instant)."""

CUSTOM_GRACE = timedelta(hours=1)
"""Staff reminders have no config rule; a missed one may go out this late."""

_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Target:
    """Where a firing goes.

    `channel`: `value` is a channel purpose or a channel name (purposes win; the firing
    code resolves them). `members`: DM each member of exercise group `value`.
    `students`: DM each student without a hand-in for assignment `value` (nudges).
    `routine`: the course routine named `value` decides (ports.routines).
    """

    kind: TargetKind
    value: str

    def label(self) -> str:
        if self.kind == "channel":
            return f"~{defuse(self.value)}"  # a channel name as someone typed it
        if self.kind == "members":
            return f"members of {defuse(self.value)}"
        if self.kind == "routine":
            return self.value  # our own name, never typed by anyone
        return f"students without {defuse(self.value)}"


@dataclass(frozen=True)
class CustomReminder:
    """A reminder staff set with `/idl remind add`. `first` is the (first) instant;
    weekly ones repeat on `first`'s weekday at `first`'s wall-clock time in the course
    zone until the course ends. `created_by_id` is the creator's Mattermost user id, the
    identity who may change it (a username can be renamed and reused; an id cannot);
    None for reminders stored before it was recorded, which only instructors may change."""

    id: int
    kind: Repeat
    first: datetime
    channel: str
    text: str
    created_by: str
    cancelled: bool = False
    created_by_id: str | None = None


@dataclass(frozen=True)
class Occurrence:
    """One planned firing. `deadline` is what it reminds of (None: nothing to miss)."""

    key: str
    kind: FiringKind
    fire_at: datetime
    target: Target
    text: str
    grace: timedelta
    deadline: datetime | None = None
    ref: str = ""  # assignment id, group id or custom reminder id

    def __post_init__(self) -> None:
        # Instants are kept in UTC: Python subtracts two datetimes of the same zone as
        # wall-clock times, which is an hour off across a DST change.
        object.__setattr__(self, "fire_at", self.fire_at.astimezone(UTC))
        if self.deadline is not None:
            object.__setattr__(self, "deadline", self.deadline.astimezone(UTC))


def routine_firing(
    routine: str,
    what: str,
    fire_at: datetime,
    *,
    grace: timedelta,
    deadline: datetime | None = None,
    ref: str = "",
    text: str = "",
) -> Occurrence:
    """One firing of the course routine `routine` (ports.routines), keyed
    `rem:<routine>:<what>`: the routine decides what to post when it fires, so `text` is
    only what `/idl remind list` shows."""
    return Occurrence(
        key=f"rem:{routine}:{what}",
        kind="routine",
        fire_at=fire_at,
        target=Target("routine", routine),
        text=text,
        grace=grace,
        deadline=deadline,
        ref=ref,
    )


def split_offset(offset: timedelta) -> tuple[int, timedelta]:
    """(whole days, remainder): the days are calendar days, the rest absolute time."""
    return offset.days, offset - timedelta(days=offset.days)


def before(deadline: datetime, offset: timedelta, course: Course) -> datetime:
    """The instant `offset` before `deadline` under the rule in the module docstring."""
    days, rest = split_offset(offset)
    local = deadline.astimezone(course.tz)
    day_back = wall_clock(local.date() - timedelta(days=days), local.time(), course.tz) if days else local
    return (day_back.astimezone(UTC) - rest).astimezone(course.tz)  # the rest is real time


def offset_label(offset: timedelta) -> str:
    """timedelta(hours=24) → "-24h", 90 min → "-90m": the key part of an offset."""
    minutes = int(offset.total_seconds()) // 60
    if minutes % 60:
        return f"-{minutes}m"
    return f"-{minutes // 60}h"


def hours_text(offset: timedelta) -> str:
    """How people say it: "24 h", "2 h", "90 min"."""
    minutes = int(offset.total_seconds()) // 60
    return f"{minutes} min" if minutes % 60 else f"{minutes // 60} h"


def weekly_days(course: Course, first: date, weekday: int) -> Iterator[date]:
    """Dates with `weekday` from `first` to the course end, lecture-free days left out."""
    day = first + timedelta(days=(weekday - first.weekday()) % 7)
    while day <= course.end:
        if course.is_lecture_free(day) is None:
            yield day
        day += _WEEK


def plan(
    course: Course,
    settings: ReminderSettings,
    *,
    start: datetime,
    end: datetime,
    extra: Sequence[CustomReminder] = (),
    routines: Iterable[Occurrence] = (),
) -> list[Occurrence]:
    """Every firing with `start <= fire_at < end`, sorted by (fire_at, key).
    `routines` are the course routines' own firings (ports.routines), planned alike."""
    found: list[Occurrence] = []
    if settings.questions is not None and settings.questions.enabled:
        found.extend(_questions(course, settings.questions))
    if settings.assignments is not None and settings.assignments.enabled:
        found.extend(_assignments(course, settings.assignments))
    if settings.exercise is not None and settings.exercise.enabled:
        found.extend(_exercise(course, settings.exercise))
    if settings.nudges is not None and settings.nudges.enabled:
        found.extend(_nudges(course, settings.nudges))
    for custom in extra:
        found.extend(_custom(course, custom))
    found.extend(routines)
    wanted = [o for o in found if start <= o.fire_at < end]
    return sorted(wanted, key=lambda o: (o.fire_at, o.key))


def _questions(course: Course, rule: ReminderRule) -> Iterator[Occurrence]:
    q = course.questions
    target = Target("channel", rule.channel or "questions")
    for day in weekly_days(course, course.start, q.weekday):
        deadline = wall_clock(day, q.at, course.tz)
        for offset in rule.offsets:
            text = (
                f"**{q.name}** are due in {hours_text(offset)} ({_clock(deadline)}): file yours as "
                f"[GitLab issues]({course.questions_url}) and upvote the ones you want covered.{FILED}"
            )
            yield Occurrence(
                key=f"rem:questions:{day.isoformat()}:{offset_label(offset)}",
                kind="questions",
                fire_at=before(deadline, offset, course),
                target=target,
                text=text,
                grace=rule.grace,
                deadline=deadline,
            )


def _assignments(course: Course, rule: ReminderRule) -> Iterator[Occurrence]:
    target = Target("channel", rule.channel or "assignments")
    for a in course.assignments:
        for offset in rule.offsets:
            text = (
                f"**{defuse(a.id)}** {defuse(a.title)} is due in {hours_text(offset)} "
                f"({_clock(a.due.astimezone(course.tz))})."
            )
            yield Occurrence(
                key=f"rem:assignment:{a.id}:{offset_label(offset)}",
                kind="assignment",
                fire_at=before(a.due, offset, course),
                target=target,
                text=text,
                grace=rule.grace,
                deadline=a.due,
                ref=a.id,
            )


def _exercise(course: Course, rule: ReminderRule) -> Iterator[Occurrence]:
    for g in course.groups:
        if rule.to == "members":
            target = Target("members", g.id)
        else:
            target = Target("channel", rule.channel or g.channel or g.id)
        for day in weekly_days(course, g.first_session, g.weekday):
            session = wall_clock(day, g.start, course.tz)
            times: list[tuple[str, datetime]] = []
            if rule.at is not None:
                times.append((f"{rule.at:%H:%M}", wall_clock(day, rule.at, course.tz)))
            times.extend((offset_label(o), before(session, o, course)) for o in rule.offsets)
            for label, fire_at in times:
                text = (
                    f"**{defuse(g.name)}** today, {session:%H:%M}\u2013"
                    f"{wall_clock(day, g.end, course.tz):%H:%M} in {defuse(g.room)}."
                )
                yield Occurrence(
                    key=f"rem:exercise:{g.id}:{day.isoformat()}:{label}",
                    kind="exercise",
                    fire_at=fire_at,
                    target=target,
                    text=text,
                    grace=rule.grace,
                    deadline=session,
                    ref=g.id,
                )


def _nudges(course: Course, rule: ReminderRule) -> Iterator[Occurrence]:
    for a in course.assignments:
        for offset in rule.offsets:
            yield Occurrence(
                key=f"rem:nudge:{a.id}:{offset_label(offset)}",
                kind="nudge",
                fire_at=before(a.due, offset, course),
                target=Target("students", a.id),
                text=nudge_text(a.id, offset),
                grace=rule.grace,
                deadline=a.due,
                ref=a.id,
            )


def nudge_text(assignment_id: str, offset: timedelta) -> str:
    """The personal DM: it says what is missing and how to mute it."""
    return (
        f"**{defuse(assignment_id)}** is due in {hours_text(offset)} and I have no hand-in "
        "from you yet. (Mute these with `/idl remind off`.)"
    )


def _custom(course: Course, custom: CustomReminder) -> Iterator[Occurrence]:
    if custom.cancelled:
        return
    local = custom.first.astimezone(course.tz)
    if custom.kind == "once":
        instants = [local]
    else:
        days = weekly_days(course, local.date(), local.weekday())
        instants = [wall_clock(day, local.time(), course.tz) for day in days]
    for at in instants:
        yield Occurrence(
            key=f"rem:custom:{custom.id}:{at:%Y-%m-%dT%H:%M}",
            kind="custom",
            fire_at=at,
            target=Target("channel", custom.channel),
            text=defuse(custom.text, inline=False),
            grace=CUSTOM_GRACE,
            ref=str(custom.id),
        )


def _clock(at: datetime) -> str:
    return f"{at:%a %H:%M} {at.tzname()}"


def fill(occurrence: Occurrence, filed: int | None) -> str:
    """The text to post: the questions placeholder filled (or dropped when unknown)."""
    if occurrence.kind != "questions":
        return occurrence.text
    count = "" if filed is None else f" So far {filed} question{'s' if filed != 1 else ''} filed."
    return occurrence.text.replace(FILED, count)


def decide(occurrence: Occurrence, now: datetime) -> tuple[Decision, str]:
    """Send on time, send late within the grace, or skip; with the reason for the log.

    Never after the deadline the reminder refers to ("2 h left" after the deadline is
    wrong, not late), and never later than `grace` after its own time.
    """
    now = now.astimezone(UTC)
    late = now - occurrence.fire_at
    if occurrence.deadline is not None and now >= occurrence.deadline:
        return "skip", f"deadline passed {_span(now - occurrence.deadline)} ago"
    if late <= ON_TIME:
        return "send", "on time"
    if late <= occurrence.grace:
        return "late", f"late by {_span(late)} (grace {_span(occurrence.grace)})"
    return "skip", f"missed by {_span(late)}, beyond the grace of {_span(occurrence.grace)}"


def _span(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds()) // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{hours // 24} days"
