"""Times as people read them, in their own zone, and the `/idl deadlines` list.

Formatting is done by hand instead of with `strftime("%a %b")` because those names
follow the process locale; a bot started under de_DE would otherwise say "Di" and
"Okt". The zone abbreviation (CET/CEST, EST/EDT) is always printed: students in
other zones must not have to guess which 12:00 is meant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from idlbot.domain.chat import UserTimezone
from idlbot.domain.defuse import defuse
from idlbot.domain.schedule import Occurrence

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZERO, _MINUTE, _HOUR, _SIX_HOURS = timedelta(0), timedelta(minutes=1), timedelta(hours=1), timedelta(hours=6)
_DASH = "\u2013"  # en dash, the typographic range sign: "13:00\u201315:00"

NOTHING_DUE = "Nothing is due in the rest of the term."


def user_zone(choice: UserTimezone | None, fallback: ZoneInfo) -> ZoneInfo:
    """The zone a Mattermost user sees times in, from the user's time-zone choice.

    The automatic zone wins when it is switched on and known; otherwise the manual one;
    otherwise (or when the browser reported a name this system's tz database does not
    know) the course zone.
    """
    if choice is None:
        return fallback
    name = choice.automatic if choice.use_automatic and choice.automatic else choice.manual
    return _zone(name) or fallback


def _zone(name: str) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@lru_cache(maxsize=8192)  # the same deadlines, in the same few zones, are in every status
def format_clock(at: datetime, tz: ZoneInfo) -> str:
    """`Tue 23 Oct 2018, 12:00 CEST` — date, 24-hour time and zone abbreviation."""
    local = at.astimezone(tz)
    return f"{_day(local)}, {local.hour:02d}:{local.minute:02d} {local.tzname()}"


def _day(local: datetime) -> str:
    return f"{_DAYS[local.weekday()]} {local.day:02d} {_MONTHS[local.month - 1]} {local.year}"


def relative(at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """Say "in 45 min", "in 3 h", "tomorrow", "in 2 days" (or the same with "ago").

    Under an hour counts minutes; within the same local day (or under 6 h) counts
    hours; beyond that counts calendar days in `tz`, since "tomorrow" means the
    reader's tomorrow. Always floors, so "in 3 h" never overstates the time left.
    """
    return _relative(at - now, at.astimezone(tz).date(), now.astimezone(tz).date())


def _relative(delta: timedelta, day: date, today: date) -> str:
    """`relative` from the time left and the two local dates (a list of deadlines works
    out `today` once)."""
    future = delta >= _ZERO
    span = delta if future else -delta
    days = abs((day - today).days)
    if span < _MINUTE:
        return "now"
    if span < _HOUR:
        amount = f"{span // _MINUTE} min"
    elif days == 0 or span < _SIX_HOURS:
        amount = f"{span // _HOUR} h"
    elif days == 1:
        return "tomorrow" if future else "yesterday"
    else:
        amount = f"{days} days"
    return f"in {amount}" if future else f"{amount} ago"


def format_when(at: datetime, tz: ZoneInfo, now: datetime) -> str:
    """`Tue 23 Oct 2018, 12:00 CEST (in 2 days)`."""
    return f"{format_clock(at, tz)} ({relative(at, now, tz)})"


@lru_cache(maxsize=8192)  # the same exercise sessions are in every `/idl deadlines`
def format_span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """`Thu 18 Oct 2018, 13:00\u201315:00 CEST` (en dash); the end gets its own date or zone name
    only if they differ from the start's (a session seen from far away may cross
    midnight)."""
    first, last = start.astimezone(tz), end.astimezone(tz)
    if first.date() == last.date() and first.tzname() == last.tzname():
        return f"{_day(first)}, {first:%H:%M}{_DASH}{last:%H:%M} {last.tzname()}"
    return f"{format_clock(first, tz)} {_DASH} {format_clock(last, tz)}"


def _item(occurrence: Occurrence, tz: ZoneInfo, now: datetime, today: date) -> str:
    """One Markdown list item for the deadlines list; titles are defused. `today`: the
    reader's local date at `now`, worked out once per list."""
    text, day = _fixed_part(occurrence, tz)
    return text if day is None else f"{text} ({_relative(occurrence.at - now, day, today)})"


@lru_cache(maxsize=4096)  # the same few occurrences are in every `/idl deadlines`
def _fixed_part(occurrence: Occurrence, tz: ZoneInfo) -> tuple[str, date | None]:
    """The item without its relative time ("in 2 days"), the only part that depends on
    `now`, and the local date that time counts from (None: the item has none). Defusing
    the titles and formatting the dates was half of a cached `/idl deadlines`."""
    title = defuse(occurrence.title)
    local_date = occurrence.at.astimezone(tz).date()
    if occurrence.kind == "assignment":
        ident = occurrence.key.removeprefix("assignment:")
        return f"- **{defuse(ident)}** {title} due {format_clock(occurrence.at, tz)}", local_date
    if occurrence.kind == "questions":
        where = f"[GitLab issues]({occurrence.where})" if occurrence.where else "GitLab issues"
        return f"- **{title}** deadline ({where}) {format_clock(occurrence.at, tz)}", local_date
    when = (
        format_span(occurrence.at, occurrence.end, tz)
        if occurrence.end is not None
        else format_clock(occurrence.at, tz)
    )
    room = f", {defuse(occurrence.where)}" if occurrence.where else ""
    return f"- **{title}** {when}{room}", None


def render_deadlines(
    occurrences: Iterable[Occurrence], tz: ZoneInfo, now: datetime, *, zone_name: str
) -> str:
    """The reply to `/idl deadlines`: a line naming the zone, then one item per
    occurrence. `zone_name` is what the reader knows their zone as (usually the IANA
    name from their Mattermost profile), printed so nobody wonders whose 12:00 it is.
    """
    today = now.astimezone(tz).date()
    lines = [_item(o, tz, now, today) for o in occurrences]
    if not lines:
        return NOTHING_DUE
    return "\n".join([f"Times are in {zone_name}.", *lines])


def render_steady_until(occurrences: Sequence[Occurrence], tz: ZoneInfo, now: datetime) -> datetime:
    """The first instant after `now` at which `render_deadlines` of these occurrences may
    read differently (`now` itself: it may change at once). Which occurrences are listed
    is `upcoming`'s business, not this function's. Only the relative times move."""
    until = next_midnight(now, tz)
    for occurrence in occurrences:
        if _fixed_part(occurrence, tz)[1] is not None:  # the item has a relative time
            until = min(until, relative_steady_until(occurrence.at, now))
    return until


def relative_steady_until(at: datetime, now: datetime) -> datetime:
    """The first instant after `now` at which `relative(at, …)` may read differently,
    apart from the reader's midnight (`next_midnight`): when the time left crosses a whole
    minute, since every unit and threshold of `_relative` (min, h, 6 h) is a whole number of
    minutes. Counting down, the time left floors the same while it stays above the whole
    minute below it; counting up (past deadlines), until it reaches the one above. `now`
    itself when the time left is a whole number of minutes: it changes at once."""
    left = at - now
    return now + (left % _MINUTE if left >= _ZERO else _MINUTE - (-left) % _MINUTE)


def next_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    """The reader's next midnight, when "tomorrow" becomes "in 9 h" (fold=0: the first
    midnight where clocks go back across it; in a gap, the instant the gap ends)."""
    return datetime.combine(now.astimezone(tz).date() + timedelta(days=1), time(0), tzinfo=tz)


def next_minute(now: datetime, tz: ZoneInfo) -> datetime:
    """The next instant at which `format_clock(now, tz)` reads differently: the reader's
    next whole minute (zone offsets and their changes fall on whole minutes)."""
    local = now.astimezone(tz)
    return now + (_MINUTE - timedelta(seconds=local.second, microseconds=local.microsecond))
