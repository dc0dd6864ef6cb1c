"""A student's calendar as iCalendar text (the `icalendar` package).

Instants are written in UTC (`...Z`): every calendar client converts them to the
reader's zone, and no VTIMEZONE block has to be right for it. UIDs are the stable
occurrence keys, so a client that refreshes the feed updates events instead of
duplicating them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from idlbot.domain.course import Course
from idlbot.domain.schedule import Occurrence, upcoming

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def occurrences_for(course: Course, group_id: str | None) -> list[Occurrence]:
    """The whole term for one student: all deadlines, and the sessions of their group
    (every group's when `group_id` is None, i.e. the roster does not know it yet)."""
    return upcoming(course, now=EPOCH, limit=100_000, group_id=group_id)


def _summary(occ: Occurrence) -> str:
    if occ.kind == "assignment":
        return f"{occ.key.removeprefix('assignment:')} due: {occ.title}"
    if occ.kind == "questions":
        return f"{occ.title} deadline"
    return occ.title


def render(course: Course, occurrences: Iterable[Occurrence], *, now: datetime, name: str) -> bytes:
    # imported on the first calendar fetch: 3 MB the bot need not hold until someone subscribes
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//idlbot//course calendar//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{course.name} ({name})")
    for occ in occurrences:
        event = Event()
        event.add("uid", f"{occ.key}@idlbot")
        event.add("dtstamp", now.astimezone(UTC))
        event.add("dtstart", occ.at.astimezone(UTC))
        if occ.end is not None:
            event.add("dtend", occ.end.astimezone(UTC))
        event.add("summary", _summary(occ))
        if occ.where:
            event.add("url" if occ.kind == "questions" else "location", occ.where)
        cal.add_component(event)
    return bytes(cal.to_ical())
