"""The kinds of value a config file holds, as annotated types with our own messages.

A field's type says everything about reading it: `port: Annotated[Int, Field(ge=1)]`,
`offsets: Offsets`. Pydantic runs the parser before its own check, and a parser raises
`errors.problem(...)`, so the message names the expected format ("use HH:MM") instead
of pydantic's generic wording.

Strictness is per type, not per table: pydantic's `strict=True` on a standard dataclass
would refuse the TOML table itself (it wants an instance), so `Int`, `Real` and `Flag`
carry `Strict()` and everything else goes through a parser that checks the type. Either
way "8080" is no port and "yes" no boolean.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, NamedTuple, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AllowInfNan, BeforeValidator, Strict

from idlbot.config.errors import problem, show
from idlbot.domain.course import parse_weekday
from idlbot.domain.settings import RuleTarget

T = TypeVar("T")

DB_SCHEMES: tuple[str, ...] = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise problem(f"expected a string, got {show(value)}")
    if not value.strip():
        raise problem("must not be empty")
    return value.strip()


def _pattern(regex: str, what: str, hint: str, *, lower: bool = False) -> Callable[[object], str]:
    compiled = re.compile(regex, re.IGNORECASE if lower else 0)

    def check(value: object) -> str:
        text = _text(value)
        if not compiled.fullmatch(text):
            raise problem(f"invalid {what} {show(text)} ({hint})")
        return text.lower() if lower else text

    return check


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def _day(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise problem(f"invalid date {show(value)} (use YYYY-MM-DD)")


def _moment(value: object) -> datetime:
    """A TOML local datetime or "YYYY-MM-DD HH:MM"; naive means course zone. An offset
    datetime (2018-10-23T23:59:00+02:00) is an exact instant and accepted as such."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATETIME.fullmatch(value.strip()):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise problem(f"invalid datetime {show(value)} (use YYYY-MM-DD HH:MM)")


def _hh_mm(text: str) -> time | None:
    match = _TIME.fullmatch(text.strip())
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return time(int(match[1]), int(match[2]))
    return None


def _clock(value: object) -> time:
    if isinstance(value, time) and value.tzinfo is None:
        return value
    at = _hh_mm(value) if isinstance(value, str) else None
    if at is None:
        raise problem(f"invalid time {show(value)} (use HH:MM)")
    return at


def _weekday(value: object) -> int:
    number = parse_weekday(value) if isinstance(value, str) else None
    if number is None:
        raise problem(f"invalid weekday {show(value)} (use mon..sun or monday..sunday)")
    return number


class WeeklyTime(NamedTuple):
    weekday: int
    at: time


def _cutoff(value: object) -> WeeklyTime:
    """ "tue 12:00": a weekday and a wall-clock time, as the agenda's cutoff is written."""
    text = _text(value)
    day, _, clock = text.partition(" ")
    weekday, at = parse_weekday(day), _hh_mm(clock)
    if weekday is None or at is None:
        raise problem(f'invalid cutoff {show(text)} (use e.g. "tue 12:00")')
    return WeeklyTime(weekday, at)


def _zone(value: object) -> str:
    name = _text(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise problem(f"unknown time zone '{name}'") from None
    return name


def _http_url(value: object, hint: str = "use http(s)://host[:port][/path]") -> str:
    text = _text(value).rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise problem(f"invalid URL {show(value)} ({hint})")
    return text


def _base_url(value: object) -> str:
    hint = "use http(s)://host[:port], without a path"
    text = _http_url(value, hint)
    if urlsplit(text).path:
        raise problem(f"invalid URL {show(value)} ({hint})")
    return text


def _db_url(value: object) -> str:
    text = _text(value)
    if not text.startswith(DB_SCHEMES):
        raise problem(f"unsupported database URL (must start with {' or '.join(DB_SCHEMES)})")
    if urlsplit(text).password:
        raise problem("contains a password; leave it out and set PGPASSWORD or use ~/.pgpass")
    return text


_DURATION = re.compile(r"(\d+)\s*(d|h|m|min|s)")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "min": 60, "s": 1}


DURATION_MAX = timedelta(days=366)


def _duration(value: object) -> timedelta:
    """ "24h", "90m", "2d", "1h30m": the way people write offsets. At most a year: no
    reminder or grace is longer than a term, and "99999999999d" overflows timedelta."""
    text = value.strip().lower().replace(" ", "") if isinstance(value, str) else ""
    parts = _DURATION.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise problem(f"invalid duration {show(value)} (use e.g. 24h, 90m, 2d, 1h30m)")
    seconds = sum(int(number) * _SECONDS[unit] for number, unit in parts)
    if seconds > DURATION_MAX.total_seconds():
        raise problem(f"duration {show(value)} is too long (at most {DURATION_MAX.days}d)")
    return timedelta(seconds=seconds)


RESYNC_WINDOW_MAX = timedelta(days=7)


def _resync_window(window: timedelta) -> timedelta:
    """Positive, and at most a week: older posts are not worth answering, and the window
    must stay well inside the 30 days handled posts are remembered (else a re-sync could
    answer a post a second time after its record was pruned)."""
    if not timedelta(0) < window <= RESYNC_WINDOW_MAX:
        raise problem(f"must be a positive duration of at most {RESYNC_WINDOW_MAX.days}d")
    return window


def _positive(offsets: tuple[timedelta, ...]) -> tuple[timedelta, ...]:
    if any(o <= timedelta(0) for o in offsets):
        raise problem("must be positive durations")
    return offsets


def _gitlab_path(value: object) -> str:
    text = _text(value).strip("/")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+", text):
        raise problem(f"invalid GitLab path {show(value)} (use namespace/project, e.g. idl2018/course)")
    return text


def unique(items: tuple[T, ...]) -> tuple[T, ...]:
    """Drops repeats, keeping the first: a username listed twice is one person."""
    return tuple(dict.fromkeys(items))


def nonempty(message: str) -> Callable[[tuple[T, ...]], tuple[T, ...]]:
    def check(items: tuple[T, ...]) -> tuple[T, ...]:
        if not items:
            raise problem(message)
        return items

    return check


Int = Annotated[int, Strict()]
# a TOML integer is a fine number of seconds: strict allows int; inf and nan are no number of seconds
Real = Annotated[float, Strict(), AllowInfNan(False)]
Flag = Annotated[bool, Strict()]
Text = Annotated[str, BeforeValidator(_text)]
CourseId = Annotated[
    str,
    BeforeValidator(
        _pattern(
            r"[a-z][a-z0-9_-]{0,31}",
            "course id",
            "a lowercase letter, then up to 31 lowercase letters, digits, '-' or '_', e.g. idl2018",
        )
    ),
]
Ident = Annotated[
    str, BeforeValidator(_pattern(r"[a-z0-9][a-z0-9_-]*", "id", "lowercase letters, digits, '-', '_'"))
]
Username = Annotated[
    str,
    BeforeValidator(
        _pattern(r"[a-z][a-z0-9._-]{2,21}", "username", "Mattermost username, without '@'", lower=True)
    ),
]
Usernames = Annotated[tuple[Username, ...], AfterValidator(unique)]
Purpose = Annotated[
    str, BeforeValidator(_pattern(r"[a-z][a-z0-9_]*", "purpose", "lowercase letters, digits, '_'"))
]
ChannelName = Annotated[
    str,
    BeforeValidator(
        _pattern(r"[a-z0-9][a-z0-9_-]{0,63}", "channel name", "Mattermost channel name, e.g. town-square")
    ),
]
TeamName = Annotated[
    str,
    BeforeValidator(_pattern(r"[a-z0-9][a-z0-9-]{1,63}", "team name", "the team's URL name, e.g. idl2018")),
]
ReminderTarget = Annotated[
    RuleTarget, BeforeValidator(_pattern(r"channel|members", "target", "channel or members"))
]
Day = Annotated[date, BeforeValidator(_day)]
Moment = Annotated[datetime, BeforeValidator(_moment)]
Clock = Annotated[time, BeforeValidator(_clock)]
WeekdayNumber = Annotated[int, BeforeValidator(_weekday)]
Cutoff = Annotated[WeeklyTime, BeforeValidator(_cutoff)]
ZoneName = Annotated[str, BeforeValidator(_zone)]
HttpUrl = Annotated[str, BeforeValidator(_http_url)]
BaseUrl = Annotated[str, BeforeValidator(_base_url)]
DbUrl = Annotated[str, BeforeValidator(_db_url)]
Duration = Annotated[timedelta, BeforeValidator(_duration)]
Offsets = Annotated[tuple[Duration, ...], AfterValidator(_positive)]
ResyncWindow = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_resync_window)]
GitLabPath = Annotated[str, BeforeValidator(_gitlab_path)]
