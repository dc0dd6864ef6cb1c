"""`/idl remind add <when> ...`: the ways people write "when", in the course zone.

The text after <when> is free (a channel, then the reminder text), so `parse_prefix`
reads the longest "when" at the start and returns the rest. Local forms (`tue 10:00`,
`2018-10-23 10:00`, `tomorrow 09:00`) are wall-clock time in the course zone and go
through `wall_clock`, so they stay right across DST changes; `in 2h` is absolute time.

Times are bounded: after now, and no later than a year after the term ends (or a year from
now, whichever is later: `latest`). Beyond that a reminder is a typo, and `in 99999999d`
or `9999-12-31` would overflow the datetime arithmetic or sit in the tables forever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from idlbot.domain.course import parse_weekday
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import UserError
from idlbot.domain.schedule import wall_clock

ONCE_FORMATS = (
    "`tue 10:00`, `tuesday 10:00`, `2018-10-23 10:00`, `today 15:00`, `tomorrow 09:00`, "
    "`in 2h`, `in 90m`, `in 1d`, `in 1h30m`"
)
FORMATS = f"{ONCE_FORMATS}; weekly: `weekly tue 10:00` or `every tue 10:00`"
"""Every form `parse` reads; a reader that takes one instant only (`weekly=False`: an
announcement, a maintenance window) names `ONCE_FORMATS`, so no message offers a form
that would be refused."""


def _formats(weekly: bool) -> str:
    return FORMATS if weekly else ONCE_FORMATS


class WhenError(UserError):
    """The text is no time we understand; the message names every accepted format."""

    def __init__(self, text: str, *, weekly: bool = True) -> None:
        shown = text.strip() or "nothing"
        super().__init__(f"I can't read “{defuse(shown)}” as a time. Use one of: {_formats(weekly)}.")


class NotWeekly(UserError):
    """A weekly form where only one instant is taken (an announcement is posted once)."""

    def __init__(self, text: str, hint: str) -> None:
        super().__init__(f"“{defuse(text)}” repeats, but {hint} Use one of: {ONCE_FORMATS}.")


Repeat = Literal["once", "weekly"]
"""How a time a user typed repeats: at one instant, or every week at its wall-clock time."""


class TooFarAhead(UserError):
    """The time is after `latest`; the message names the limit and the formats."""

    def __init__(self, text: str, limit: datetime, *, weekly: bool = True) -> None:
        super().__init__(
            f"“{defuse(text)}” is too far ahead: the latest time I accept is "
            f"{limit:%Y-%m-%d %H:%M} ({limit.tzname()}), a year after the term ends. "
            f"Use one of: {_formats(weekly)}."
        )


AHEAD = timedelta(days=366)
"""How far past the term's end (and past now) a time may be."""


def latest(now: datetime, tz: ZoneInfo, term_end: date | None = None) -> datetime:
    """The latest instant a user may ask for: the end of the term's last day plus a year,
    or a year from now if that is later (a bot still running after its term)."""
    ahead = now.astimezone(tz) + AHEAD
    if term_end is None:
        return ahead
    return max(ahead, wall_clock(term_end + AHEAD, time(23, 59), tz))


@dataclass(frozen=True)
class _Frame:
    """What every reader needs: now, the course zone, and the latest acceptable instant."""

    now: datetime
    tz: ZoneInfo
    latest: datetime
    weekly: bool = True


@dataclass(frozen=True)
class When:
    """`first` is the (first) firing instant, aware; weekly repeats at its local
    weekday and wall-clock time."""

    kind: Repeat
    first: datetime


_CLOCK = r"(?P<h>\d{1,2}):(?P<m>\d{2})"
_WEEKLY = re.compile(rf"(?:weekly|every)\s+(?P<day>[a-z]+)\s+{_CLOCK}(?=\s|$)", re.I)
_WEEKDAY = re.compile(rf"(?P<day>[a-z]+)\s+{_CLOCK}(?=\s|$)", re.I)
_DATE = re.compile(rf"(?P<date>\d{{4}}-\d{{2}}-\d{{2}})[ T]{_CLOCK}(?=\s|$)", re.I)
_RELATIVE_DAY = re.compile(rf"(?P<word>today|tomorrow)\s+{_CLOCK}(?=\s|$)", re.I)
_IN = re.compile(r"in\s+(?P<span>(?:\d+\s*(?:d|h|m|min)\s*?)+)(?=\s|$)", re.I)
_PART = re.compile(r"(\d+)\s*(d|h|min|m)", re.I)


ONCE_HINT = "this takes one time."


def parse(
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    term_end: date | None = None,
    weekly: bool = True,
    once_hint: str = ONCE_HINT,
) -> When:
    """The whole of `text` must be a time (see `parse_prefix`)."""
    when, rest = parse_prefix(text, now=now, tz=tz, term_end=term_end, weekly=weekly, once_hint=once_hint)
    if rest:
        raise WhenError(text, weekly=weekly)
    return when


def parse_prefix(
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    term_end: date | None = None,
    weekly: bool = True,
    once_hint: str = ONCE_HINT,
) -> tuple[When, str]:
    """(the time at the start of `text`, the rest stripped). Times in the past are
    errors: a reminder that can never fire is a typo, not a request; so are times after
    `latest(now, tz, term_end)` (TooFarAhead).

    `weekly=False` for a caller that takes one instant: a weekly form is refused with
    `once_hint` (which says what to use instead), never quietly read as its first time,
    and the error messages list only the one-off forms."""
    stripped = text.strip()
    frame = _Frame(now, tz, latest(now, tz, term_end), weekly)
    for reader in (_weekly, _on_date, _relative_day, _in, _weekday):
        found = reader(stripped, frame)
        if found is not None:
            when, end = found
            if when.kind == "weekly" and not weekly:
                raise NotWeekly(stripped[:end], once_hint)
            if when.first <= now:
                raise UserError(f"“{defuse(stripped[:end])}” is in the past; give a time after now.")
            if when.first > frame.latest:
                raise TooFarAhead(stripped[:end], frame.latest, weekly=weekly)
            return when, stripped[end:].strip()
    raise WhenError(" ".join(stripped.split()[:3]), weekly=weekly)


def _clock(match: re.Match[str]) -> time | None:
    hour, minute = int(match["h"]), int(match["m"])
    return time(hour, minute) if hour < 24 and minute < 60 else None


def _next_weekday(weekday: int, at: time, frame: _Frame) -> datetime:
    today = frame.now.astimezone(frame.tz).date()
    day = today + timedelta(days=(weekday - today.weekday()) % 7)
    instant = wall_clock(day, at, frame.tz)
    return instant if instant > frame.now else wall_clock(day + timedelta(days=7), at, frame.tz)


def _weekly(text: str, frame: _Frame) -> tuple[When, int] | None:
    m = _WEEKLY.match(text)
    weekday = parse_weekday(m["day"]) if m else None
    at = _clock(m) if m else None
    if m is None or weekday is None or at is None:
        return None
    return When("weekly", _next_weekday(weekday, at, frame)), m.end()


def _weekday(text: str, frame: _Frame) -> tuple[When, int] | None:
    m = _WEEKDAY.match(text)
    weekday = parse_weekday(m["day"]) if m else None
    at = _clock(m) if m else None
    if m is None or weekday is None or at is None:
        return None
    return When("once", _next_weekday(weekday, at, frame)), m.end()


def _on_date(text: str, frame: _Frame) -> tuple[When, int] | None:
    m = _DATE.match(text)
    at = _clock(m) if m else None
    if m is None or at is None:
        return None
    try:
        day = date.fromisoformat(m["date"])
    except ValueError:
        return None
    # checked on the date first: at year 1 or 9999 the zone conversion itself overflows
    if day > frame.latest.date():
        raise TooFarAhead(text[: m.end()], frame.latest, weekly=frame.weekly)
    if day < frame.now.astimezone(frame.tz).date() - timedelta(days=1):
        raise UserError(f"“{defuse(text[: m.end()])}” is in the past; give a time after now.")
    return When("once", wall_clock(day, at, frame.tz)), m.end()


def _relative_day(text: str, frame: _Frame) -> tuple[When, int] | None:
    m = _RELATIVE_DAY.match(text)
    at = _clock(m) if m else None
    if m is None or at is None:
        return None
    day = frame.now.astimezone(frame.tz).date() + timedelta(days=1 if m["word"].lower() == "tomorrow" else 0)
    return When("once", wall_clock(day, at, frame.tz)), m.end()


_MINUTES = {"d": 24 * 60, "h": 60, "m": 1, "min": 1}


def _in(text: str, frame: _Frame) -> tuple[When, int] | None:
    m = _IN.match(text)
    if m is None:
        return None
    # summed as whole minutes and compared with the limit before any datetime arithmetic,
    # which overflows (`in 99999999d`); numbers too long for `int` are past it anyway
    limit = (frame.latest - frame.now) // timedelta(minutes=1) + 1
    minutes = 0
    for number, unit in _PART.findall(m["span"]):
        if len(number.lstrip("0")) > len(str(limit)):
            raise TooFarAhead(text[: m.end()], frame.latest, weekly=frame.weekly)
        minutes += int(number) * _MINUTES[unit.lower()]
    if minutes > limit:
        raise TooFarAhead(text[: m.end()], frame.latest, weekly=frame.weekly)
    if minutes <= 0:
        return None
    # In UTC: aware arithmetic in one zone is wall-clock arithmetic, and "in 2h" is real time.
    return When(
        "once", (frame.now.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(frame.tz)
    ), m.end()
