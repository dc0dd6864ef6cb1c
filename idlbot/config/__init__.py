"""TOML file + environment → validated, frozen `Settings`.

Why it looks like this:

* Every problem is reported at once. Each section (and each `[[assignments]]` entry)
  is validated on its own, so one typo does not hide the next, and the cross-field
  checks (due after release, unique ids, channel references, ...) still run on the
  parts that did validate. The result is one `ConfigError` whose `problems` are
  "dotted.key: message" lines; array entries count from 0 (`assignments[2]` is the
  third `[[assignments]]` table).
* Unknown keys are errors, not silently ignored: a misspelt `reqest_timeout` would
  otherwise leave the default in place with no hint.
* Secrets come only from the environment (IDLBOT_*), so the file can be committed and
  shown around. A secret-looking key in the file is rejected and the message names the
  variable to use; a password in `database.url` is rejected too (asyncpg reads
  PGPASSWORD or ~/.pgpass). Secret values never appear in a repr or a message.
* Pydantic is used inside this module only; the rest of the app gets frozen
  dataclasses and domain objects, which do not depend on pydantic.
* Wall-clock values (assignment dues, "13:00") are interpreted in the course zone.
"""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from difflib import get_close_matches
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from idlbot.domain.course import (
    Assignment,
    Course,
    ExerciseGroup,
    LectureFree,
    Rules,
    WeeklyDeadline,
    parse_weekday,
    weekday_name,
)
from idlbot.domain.roles import Role, role_of
from idlbot.domain.schedule import wall_clock
from idlbot.domain.settings import (
    RULE_KINDS,
    AgendaSettings,
    GitLabSettings,
    ReminderRule,
    ReminderSettings,
    RuleTarget,
    SlurmSettings,
    Team,
)

REQUIRED_CHANNELS: tuple[str, ...] = ("town_square", "assignments", "questions", "cluster")
DB_SCHEMES: tuple[str, ...] = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
SECRET_ENV: Mapping[str, str] = MappingProxyType(
    {
        "mattermost_token": "IDLBOT_MATTERMOST_TOKEN",
        "slash_token": "IDLBOT_SLASH_TOKEN",
        "gitlab_token": "IDLBOT_GITLAB_TOKEN",
        "gitlab_webhook_secret": "IDLBOT_GITLAB_WEBHOOK_SECRET",
        "slurm_secret": "IDLBOT_SLURM_SECRET",
    }
)
REQUIRED_SECRETS: tuple[str, ...] = ("mattermost_token", "slash_token")


class ConfigError(Exception):
    """The configuration cannot be used. `problems` lists every reason found, each as
    "dotted.key: message"; only the CLI decides to exit (with status 2)."""

    def __init__(self, problems: list[str], source: str = "<config>") -> None:
        self.problems = list(problems)
        self.source = source
        count = len(self.problems)
        head = f"{source}: {count} configuration problem{'s' if count != 1 else ''}"
        super().__init__("\n  - ".join([head + ":", *self.problems]))


# --- the frozen settings the app uses ---------------------------------------------


@dataclass(frozen=True)
class MattermostSettings:
    """`url` is http(s)://host[:port] with no trailing slash; `channels` maps a purpose
    ("questions") to a channel name in `team`, so code never hard-codes names. The
    websocket watchdog reconnects after 2 * `ping_interval` seconds of silence."""

    url: str
    team: str
    channels: Mapping[str, str]
    request_timeout: float = 10.0
    ping_interval: float = 30.0
    bot_username: str | None = None

    def channel(self, purpose: str) -> str | None:
        return self.channels.get(purpose)

    @property
    def watchdog_timeout(self) -> float:
        return 2 * self.ping_interval


@dataclass(frozen=True)
class ServerSettings:
    """Where our aiohttp app listens; `public_url` is how Mattermost/GitLab reach it."""

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite+aiosqlite:///idlbot.db"


@dataclass(frozen=True)
class RolesSettings:
    """Lowercased usernames. `tutors` already includes every exercise group's tutors."""

    instructors: tuple[str, ...]
    tutors: tuple[str, ...] = ()

    def role(self, username: str) -> Role:
        return role_of(username, instructors=self.instructors, tutors=self.tutors)


@dataclass(frozen=True, repr=False)
class Secrets:
    """Tokens from the environment. The repr says which are set, never their values."""

    mattermost_token: str | None = None
    slash_token: str | None = None
    gitlab_token: str | None = None
    gitlab_webhook_secret: str | None = None
    slurm_secret: str | None = None

    def __repr__(self) -> str:
        shown = (f"{name}={'<set>' if getattr(self, name) else None}" for name in SECRET_ENV)
        return f"Secrets({', '.join(shown)})"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    course: Course
    mattermost: MattermostSettings
    server: ServerSettings
    database: DatabaseSettings
    roles: RolesSettings
    secrets: Secrets = field(default_factory=Secrets)
    path: Path | None = None
    gitlab: GitLabSettings | None = None  # None: no [gitlab] section, GitLab features off
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    agenda: AgendaSettings = field(default_factory=AgendaSettings)
    slurm: SlurmSettings = field(default_factory=SlurmSettings)

    def summary(self) -> str:
        """One log line saying what was loaded (no secrets; there are none to leak)."""
        c = self.course
        return (
            f"{c.name} ({c.term}, {c.tz.key}): {_count(len(c.assignments), 'assignment')}, "
            f"{_count(len(c.groups), 'exercise group')}, "
            f"{_count(len(c.lecture_free), 'lecture-free period')}; "
            f"Mattermost {self.mattermost.url}/{self.mattermost.team}; database {self.database.url}"
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# --- value parsers (pydantic "before" validators with our own messages) ----------------


def _problem(message: str) -> PydanticCustomError:
    # The message goes in the context, not the template: user input may contain braces.
    return PydanticCustomError("idlbot", "{problem}", {"problem": message})


def _show(value: object) -> str:
    """A value for a message. Tables and arrays are named, not printed: they may hold
    a token someone put in the wrong place."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise _problem(f"expected a string, got {_show(value)}")
    if not value.strip():
        raise _problem("must not be empty")
    return value.strip()


def _pattern(regex: str, what: str, hint: str, *, lower: bool = False) -> Callable[[object], str]:
    compiled = re.compile(regex, re.IGNORECASE if lower else 0)

    def check(value: object) -> str:
        text = _text(value)
        if not compiled.fullmatch(text):
            raise _problem(f"invalid {what} {_show(text)} ({hint})")
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
    raise _problem(f"invalid date {_show(value)} (use YYYY-MM-DD)")


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
    raise _problem(f"invalid datetime {_show(value)} (use YYYY-MM-DD HH:MM)")


def _clock(value: object) -> time:
    if isinstance(value, time) and value.tzinfo is None:
        return value
    match = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return time(int(match[1]), int(match[2]))
    raise _problem(f"invalid time {_show(value)} (use HH:MM)")


def _weekday(value: object) -> int:
    number = parse_weekday(value) if isinstance(value, str) else None
    if number is None:
        raise _problem(f"invalid weekday {_show(value)} (use mon..sun or monday..sunday)")
    return number


def _zone(value: object) -> str:
    name = _text(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _problem(f"unknown time zone '{name}'") from None
    return name


def _http_url(value: object, hint: str = "use http(s)://host[:port][/path]") -> str:
    text = _text(value).rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise _problem(f"invalid URL {_show(value)} ({hint})")
    return text


def _base_url(value: object) -> str:
    hint = "use http(s)://host[:port], without a path"
    text = _http_url(value, hint)
    if urlsplit(text).path:
        raise _problem(f"invalid URL {_show(value)} ({hint})")
    return text


def _db_url(value: object) -> str:
    text = _text(value)
    if not text.startswith(DB_SCHEMES):
        raise _problem(f"unsupported database URL (must start with {' or '.join(DB_SCHEMES)})")
    if urlsplit(text).password:
        raise _problem("contains a password; leave it out and set PGPASSWORD or use ~/.pgpass")
    return text


_DURATION = re.compile(r"(\d+)\s*(d|h|m|min|s)")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "min": "minutes", "s": "seconds"}


def _duration(value: object) -> timedelta:
    """ "24h", "90m", "2d", "1h30m": the way people write offsets."""
    text = value.strip().lower().replace(" ", "") if isinstance(value, str) else ""
    parts = _DURATION.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise _problem(f"invalid duration {_show(value)} (use e.g. 24h, 90m, 2d, 1h30m)")
    total = timedelta()
    for number, unit in parts:
        total += timedelta(**{_UNITS[unit]: int(number)})
    return total


def _gitlab_path(value: object) -> str:
    text = _text(value).strip("/")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+", text):
        raise _problem(f"invalid GitLab path {_show(value)} (use namespace/project, e.g. idl2018/course)")
    return text


Text = Annotated[str, BeforeValidator(_text)]
Ident = Annotated[
    str, BeforeValidator(_pattern(r"[a-z0-9][a-z0-9_-]*", "id", "lowercase letters, digits, '-', '_'"))
]
Username = Annotated[
    str,
    BeforeValidator(
        _pattern(r"[a-z][a-z0-9._-]{2,21}", "username", "Mattermost username, without '@'", lower=True)
    ),
]
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
Day = Annotated[date, BeforeValidator(_day)]
Moment = Annotated[datetime, BeforeValidator(_moment)]
Clock = Annotated[time, BeforeValidator(_clock)]
WeekdayNumber = Annotated[int, BeforeValidator(_weekday)]
ZoneName = Annotated[str, BeforeValidator(_zone)]
HttpUrl = Annotated[str, BeforeValidator(_http_url)]
BaseUrl = Annotated[str, BeforeValidator(_base_url)]
DbUrl = Annotated[str, BeforeValidator(_db_url)]
Duration = Annotated[timedelta, BeforeValidator(_duration)]
GitLabPath = Annotated[str, BeforeValidator(_gitlab_path)]


# --- the file schema ---------------------------------------------------------------------


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _CourseFile(_Section):
    name: Text
    term: Text
    timezone: ZoneName
    start: Day
    end: Day


class _QuestionsFile(_Section):
    name: Text = "Questions"
    weekday: WeekdayNumber
    time: Clock
    url: HttpUrl


class _AssignmentFile(_Section):
    id: Ident
    title: Text
    due: Moment
    release: Moment | None = None  # default: the course start


class _GroupFile(_Section):
    id: Ident
    name: Text
    weekday: WeekdayNumber
    start: Clock
    end: Clock
    room: Text
    first_session: Day
    tutors: list[Username] = []
    channel: Text | None = None


class _LectureFreeFile(_Section):
    name: Text
    start: Day
    end: Day


class _RulesFile(_Section):
    on_time_quota: float = Field(0.8, gt=0, le=1)
    fails_to_exclusion: int = Field(2, ge=1)
    blog_posts: int = Field(1, ge=0)
    progress_reports: int = Field(1, ge=0)
    group_paper: bool = True


class _MattermostFile(_Section):
    url: BaseUrl
    team: TeamName
    channels: dict[Purpose, ChannelName]
    request_timeout: float = Field(10.0, gt=0)
    ping_interval: float = Field(30.0, gt=0)
    bot_username: Username | None = None


class _ServerFile(_Section):
    host: Text = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_url: HttpUrl


class _DatabaseFile(_Section):
    url: DbUrl = "sqlite+aiosqlite:///idlbot.db"


class _RolesFile(_Section):
    instructors: list[Username]
    tutors: list[Username] = []


class _GitLabFile(_Section):
    url: BaseUrl
    project: GitLabPath
    assignments_group: Annotated[str, BeforeValidator(_text)]
    blog_prefix: Text = "blog"
    request_timeout: float = Field(10.0, gt=0)
    reconcile_minutes: float = Field(10.0, gt=0)
    max_workers: int = Field(4, ge=1, le=32)


class _TeamFile(_Section):
    id: Ident
    name: Text
    wiki_prefix: Text | None = None  # default teams/<id>


class _ReminderFile(_Section):
    enabled: bool = True
    offsets: list[Duration] = []
    at: Clock | None = None
    channel: Purpose | None = None
    to: Annotated[
        RuleTarget, BeforeValidator(_pattern(r"channel|members", "target", "channel or members"))
    ] = "channel"
    grace: Duration = timedelta(hours=1)


class _RemindersFile(_Section):
    """Each kind is validated on its own (in _Builder._reminders), so one bad kind does not
    hide the problems of another."""

    questions: dict[str, Any] | None = None
    assignments: dict[str, Any] | None = None
    exercise: dict[str, Any] | None = None
    nudges: dict[str, Any] | None = None


class _AgendaFile(_Section):
    label: Text | None = "question"
    all_open: bool = False
    cutoff: Text = "tue 12:00"
    top: int = Field(10, ge=1, le=100)
    channel: Purpose = "questions"
    close_on_done: bool = False
    reconcile_minutes: float = Field(5.0, gt=0)


class _SlurmFile(_Section):
    enabled: bool = False
    cluster: Text = "cluster"
    conf: Text | None = None
    bin_dir: Text | None = None
    poll_seconds: float = Field(60.0, gt=0)
    spool_dir: Text | None = None


# name → (model, required); array sections may be absent (= empty)
_TABLES: Mapping[str, tuple[type[_Section], bool]] = MappingProxyType(
    {
        "course": (_CourseFile, True),
        "questions": (_QuestionsFile, True),
        "mattermost": (_MattermostFile, True),
        "server": (_ServerFile, True),
        "database": (_DatabaseFile, False),
        "roles": (_RolesFile, True),
        "qualification": (_RulesFile, False),
        "gitlab": (_GitLabFile, False),
        "reminders": (_RemindersFile, False),
        "agenda": (_AgendaFile, False),
        "slurm": (_SlurmFile, False),
    }
)
_ARRAYS: Mapping[str, type[_Section]] = MappingProxyType(
    {
        "assignments": _AssignmentFile,
        "exercise_groups": _GroupFile,
        "lecture_free": _LectureFreeFile,
        "teams": _TeamFile,
    }
)


# --- reading and reporting ----------------------------------------------------------------


def load(path: str | Path, env: Mapping[str, str] | None = None, *, require_secrets: bool = True) -> Settings:
    """Read and validate the TOML file at `path`; secrets from `env` (default os.environ)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError([f"{file}: cannot read ({err.__class__.__name__}: {err})"], str(file)) from None
    return _parse(text, env, require_secrets=require_secrets, source=str(file), path=file)


def example_config_path() -> Path:
    """The shipped example (the real 2018 course), used by `idlbot demo` and tests.

    It lives in the package (idlbot/data/) so a plain wheel install has it; the
    config.example.toml at the top of the checkout is a symlink to it.
    """
    return Path(__file__).resolve().parent.parent / "data" / "config.example.toml"


def loads(
    text: str,
    env: Mapping[str, str] | None = None,
    *,
    require_secrets: bool = True,
    source: str = "<string>",
) -> Settings:
    """Validate TOML text; `source` only names it in the error message."""
    return _parse(text, env, require_secrets=require_secrets, source=source, path=None)


def _parse(
    text: str, env: Mapping[str, str] | None, *, require_secrets: bool, source: str, path: Path | None
) -> Settings:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:  # its message ends "(at line L, column C)"
        raise ConfigError([f"{source}: invalid TOML: {err}"], source) from None
    problems: list[str] = []
    parsed = _validate_sections(data, problems)
    secrets = _secrets(os.environ if env is None else env, require_secrets, problems)
    slurm = parsed.tables.get("slurm")
    if require_secrets and slurm is not None and slurm.enabled and secrets.slurm_secret is None:
        problems.append(
            f"env {SECRET_ENV['slurm_secret']}: missing ([slurm] enabled: it signs the job events "
            "that idlbot-slurm-mail sends; without it every /slurm/event is refused)"
        )
    settings = _Builder(parsed, problems).settings(secrets, path)
    if problems or settings is None:
        raise ConfigError(problems, source)
    return settings


_SECRETISH = re.compile(r"token|secret|passw|api_?key|credential", re.IGNORECASE)


def _secret_env(where: str) -> str:
    """The variable a secret-looking key probably meant, from the words in its path."""
    words = where.lower()
    for hint, env in (
        ("slash", "IDLBOT_SLASH_TOKEN"),
        ("webhook", "IDLBOT_GITLAB_WEBHOOK_SECRET"),
        ("slurm", "IDLBOT_SLURM_SECRET"),
        ("gitlab", "IDLBOT_GITLAB_TOKEN"),
        ("token", "IDLBOT_MATTERMOST_TOKEN"),
    ):
        if hint in words:
            return env
    return " or ".join(SECRET_ENV.values())


def _unknown(where: str, value: object, known: list[str]) -> str:
    """Message for an unknown key; never includes the value (it may be a token)."""
    name = where.rpartition(".")[2]
    nested = [f"{where}.{k}" for k in value if isinstance(k, str)] if isinstance(value, dict) else []
    secret = next((w for w in [where, *nested] if _SECRETISH.search(w.rpartition(".")[2])), None)
    if secret is not None:
        return (
            f"{where}: unknown key; secrets are never read from the file, "
            f"set the environment variable {_secret_env(secret)} instead"
        )
    matches = get_close_matches(name, known, n=1, cutoff=0.6)
    return f"{where}: unknown key" + (f" (did you mean '{matches[0]}'?)" if matches else "")


def _dotted(prefix: str, loc: tuple[str | int, ...]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part != "[key]":
            out += f".{part}" if out else part
    return out


def _pydantic_problems(prefix: str, model: type[_Section], err: ValidationError) -> list[str]:
    found = []
    for e in err.errors(include_url=False):
        where = _dotted(prefix, e["loc"])
        if e["type"] == "extra_forbidden":
            found.append(_unknown(where, e["input"], list(model.model_fields)))
        elif e["type"] == "missing":
            found.append(f"{where}: missing")
        elif e["type"] == "idlbot":
            found.append(f"{where}: {e['ctx']['problem']}")
        else:
            msg = e["msg"][:1].lower() + e["msg"][1:]
            scalar = isinstance(e["input"], str | int | float | bool | date | time)
            found.append(f"{where}: {msg}" + (f" (got {_show(e['input'])})" if scalar else ""))
    return found


def _validate(prefix: str, model: type[_Section], value: object, problems: list[str]) -> Any:
    if not isinstance(value, dict):
        problems.append(f"{prefix}: expected a table, got {_show(value)}")
        return None
    try:
        return model.model_validate(value)
    except ValidationError as err:
        problems.extend(_pydantic_problems(prefix, model, err))
        return None


@dataclass
class _Parsed:
    """What validated, section by section; None / missing entries failed (and said why)."""

    tables: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    complete: bool = True
    present: set[str] = field(default_factory=set)


def _validate_sections(data: dict[str, Any], problems: list[str]) -> _Parsed:
    parsed = _Parsed(present=set(data))
    known = [*_TABLES, *_ARRAYS]
    for key, value in data.items():
        if key not in _TABLES and key not in _ARRAYS:
            problems.append(_unknown(key, value, known))
    for name, (model, required) in _TABLES.items():
        if name not in data:
            if required:
                problems.append(f"{name}: missing section [{name}]")
                parsed.complete = False
            else:
                try:
                    parsed.tables[name] = model.model_validate({})
                except ValidationError:  # an optional section whose keys are required when present
                    parsed.tables[name] = None
            continue
        parsed.tables[name] = result = _validate(name, model, data[name], problems)
        parsed.complete &= result is not None
    for name, model in _ARRAYS.items():
        entries = data.get(name, [])
        if not isinstance(entries, list):
            problems.append(f"{name}: expected [[{name}]] tables, got {_show(entries)}")
            parsed.complete = False
            entries = []
        results = [(i, _validate(f"{name}[{i}]", model, e, problems)) for i, e in enumerate(entries)]
        parsed.arrays[name] = [(i, r) for i, r in results if r is not None]
        parsed.complete &= len(parsed.arrays[name]) == len(results)
    return parsed


def _secrets(env: Mapping[str, str], require: bool, problems: list[str]) -> Secrets:
    values = {name: (env.get(var) or "").strip() or None for name, var in SECRET_ENV.items()}
    if require:
        problems.extend(f"env {SECRET_ENV[n]}: missing" for n in REQUIRED_SECRETS if values[n] is None)
    return Secrets(**values)


def _localize(value: datetime, tz: ZoneInfo) -> datetime:
    """Naive file datetimes are course wall-clock time (DST gaps handled by wall_clock)."""
    if value.tzinfo is not None:
        return value.astimezone(tz)
    return wall_clock(value.date(), value.time(), tz)


def _duplicates(section: str, ids: list[tuple[int, str]], problems: list[str]) -> None:
    first: dict[str, int] = {}
    for i, ident in ids:
        if ident in first:
            problems.append(f"{section}[{i}].id: duplicate id '{ident}' (also {section}[{first[ident]}])")
        first.setdefault(ident, i)


class _Builder:
    """Cross-field checks and conversion to domain objects. Runs on whatever validated,
    so a bad [mattermost] section still leaves the assignment checks to report."""

    def __init__(self, parsed: _Parsed, problems: list[str]) -> None:
        self.tables = parsed.tables
        self.arrays = parsed.arrays
        self.complete = parsed.complete
        self.present = parsed.present
        self.problems = problems
        course = self.tables.get("course")
        self.tz = ZoneInfo(course.timezone) if course is not None else ZoneInfo("UTC")

    def settings(self, secrets: Secrets, path: Path | None) -> Settings | None:
        channels = self._channels()
        course = self._course(channels)
        roles = self._roles()
        t = self.tables
        gitlab = self._gitlab()
        reminders = self._reminders(channels) if t.get("reminders") is not None else ReminderSettings()
        agenda = self._agenda(channels) if t.get("agenda") is not None else AgendaSettings()
        if not self.complete or self.problems or course is None or channels is None or roles is None:
            return None
        mm: _MattermostFile = t["mattermost"]
        server: _ServerFile = t["server"]
        return Settings(
            course=course,
            mattermost=MattermostSettings(
                url=mm.url,
                team=mm.team,
                channels=channels,
                request_timeout=mm.request_timeout,
                ping_interval=mm.ping_interval,
                bot_username=mm.bot_username,
            ),
            server=ServerSettings(host=server.host, port=server.port, public_url=server.public_url),
            database=DatabaseSettings(url=t["database"].url),
            roles=roles,
            secrets=secrets,
            path=path,
            gitlab=gitlab,
            reminders=reminders,
            agenda=agenda,
            slurm=SlurmSettings(**t["slurm"].model_dump()),
        )

    def _channels(self) -> Mapping[str, str] | None:
        mm: _MattermostFile | None = self.tables.get("mattermost")
        if mm is None:
            return None
        for purpose in REQUIRED_CHANNELS:
            if purpose not in mm.channels:
                required = ", ".join(REQUIRED_CHANNELS)
                self.problems.append(f"mattermost.channels.{purpose}: missing (required: {required})")
        return MappingProxyType(dict(mm.channels))

    def _roles(self) -> RolesSettings | None:
        roles: _RolesFile | None = self.tables.get("roles")
        if roles is None:
            return None
        if not roles.instructors:
            self.problems.append("roles.instructors: at least one instructor is required")
        group_tutors = [t for _, g in self.arrays["exercise_groups"] for t in g.tutors]
        tutors = tuple(dict.fromkeys([*roles.tutors, *group_tutors]))
        return RolesSettings(instructors=tuple(dict.fromkeys(roles.instructors)), tutors=tutors)

    def _course(self, channels: Mapping[str, str] | None) -> Course | None:
        c: _CourseFile | None = self.tables.get("course")
        q: _QuestionsFile | None = self.tables.get("questions")
        if c is not None and c.end < c.start:
            self.problems.append(f"course.end: {c.end} is before course.start ({c.start})")
        assignments = self._assignments()
        groups = self._groups(channels, c)
        lecture_free = self._lecture_free()
        if c is None or q is None:
            return None
        return Course(
            name=c.name,
            term=c.term,
            tz=self.tz,
            start=c.start,
            end=c.end,
            questions=WeeklyDeadline(name=q.name, weekday=q.weekday, at=q.time),
            questions_url=q.url,
            assignments=assignments,
            groups=groups,
            lecture_free=lecture_free,
            teams=self._teams(),
            rules=Rules(**self.tables["qualification"].model_dump()),
        )

    def _assignments(self) -> tuple[Assignment, ...]:
        entries: list[tuple[int, _AssignmentFile]] = self.arrays["assignments"]
        _duplicates("assignments", [(i, a.id) for i, a in entries], self.problems)
        out = []
        course: _CourseFile | None = self.tables.get("course")
        for i, a in entries:
            due = _localize(a.due, self.tz)
            if a.release is not None:
                release = _localize(a.release, self.tz)
            elif course is not None:
                release = wall_clock(course.start, time(0, 0), self.tz)
            else:
                release = due - timedelta(days=7)
            if due <= release:
                self.problems.append(
                    f"assignments[{i}].due: {due:%Y-%m-%d %H:%M} is not after release "
                    f"({release:%Y-%m-%d %H:%M})"
                )
            out.append(Assignment(id=a.id, title=a.title, release=release, due=due))
        return tuple(out)

    def _groups(self, channels: Mapping[str, str] | None, c: _CourseFile | None) -> tuple[ExerciseGroup, ...]:
        entries: list[tuple[int, _GroupFile]] = self.arrays["exercise_groups"]
        _duplicates("exercise_groups", [(i, g.id) for i, g in entries], self.problems)
        out = []
        for i, g in entries:
            self._check_group(f"exercise_groups[{i}]", g, c)
            out.append(
                ExerciseGroup(
                    id=g.id,
                    name=g.name,
                    weekday=g.weekday,
                    start=g.start,
                    end=g.end,
                    room=g.room,
                    first_session=g.first_session,
                    tutors=tuple(dict.fromkeys(g.tutors)),
                    channel=self._group_channel(f"exercise_groups[{i}]", g.channel, channels),
                )
            )
        return tuple(out)

    def _check_group(self, where: str, g: _GroupFile, c: _CourseFile | None) -> None:
        if g.end <= g.start:
            self.problems.append(f"{where}.end: {g.end:%H:%M} is not after start ({g.start:%H:%M})")
        if g.first_session.weekday() != g.weekday:
            self.problems.append(
                f"{where}.first_session: {g.first_session} is a {weekday_name(g.first_session.weekday())}, "
                f"but weekday is {weekday_name(g.weekday)}"
            )
        if c is not None and not c.start <= g.first_session <= c.end:
            self.problems.append(
                f"{where}.first_session: {g.first_session} is outside the course ({c.start} to {c.end})"
            )

    def _group_channel(
        self, where: str, channel: str | None, channels: Mapping[str, str] | None
    ) -> str | None:
        """A purpose resolves to its channel name; a channel name is kept as is."""
        if channel is None or channels is None:
            return channel
        if channel in channels:
            return channels[channel]
        if channel in channels.values():
            return channel
        self.problems.append(
            f"{where}.channel: '{channel}' is neither a purpose nor a channel name in [mattermost.channels]"
        )
        return None

    def _gitlab(self) -> GitLabSettings | None:
        g: _GitLabFile | None = self.tables.get("gitlab")
        return None if g is None or "gitlab" not in self.present else GitLabSettings(**g.model_dump())

    def _teams(self) -> tuple[Team, ...]:
        entries: list[tuple[int, _TeamFile]] = self.arrays["teams"]
        _duplicates("teams", [(i, t.id) for i, t in entries], self.problems)
        return tuple(
            Team(id=t.id, name=t.name, wiki_prefix=t.wiki_prefix or f"teams/{t.id}") for _, t in entries
        )

    def _reminders(self, channels: Mapping[str, str] | None) -> ReminderSettings:
        r: _RemindersFile = self.tables["reminders"]
        rules: dict[str, ReminderRule | None] = {}
        for kind in RULE_KINDS:
            where = f"reminders.{kind}"
            raw = getattr(r, kind)
            entry: _ReminderFile | None = (
                None if raw is None else _validate(where, _ReminderFile, raw, self.problems)
            )
            if entry is None:
                rules[kind] = None
                continue
            if entry.channel is not None and channels is not None and entry.channel not in channels:
                self.problems.append(
                    f"{where}.channel: '{entry.channel}' is not a purpose in [mattermost.channels]"
                )
            if kind == "exercise" and entry.at is None and not entry.offsets:
                self.problems.append(f'{where}: give `at` (e.g. "08:00") or `offsets`')
            elif kind != "exercise" and not entry.offsets:
                self.problems.append(f'{where}.offsets: give at least one, e.g. ["24h", "2h"]')
            if any(o <= timedelta(0) for o in entry.offsets):
                self.problems.append(f"{where}.offsets: must be positive durations")
            rules[kind] = ReminderRule(
                kind=kind,
                offsets=tuple(entry.offsets),
                at=entry.at,
                channel=entry.channel,
                to=entry.to,
                grace=entry.grace,
                enabled=entry.enabled,
            )
        return ReminderSettings(**rules)

    def _agenda(self, channels: Mapping[str, str] | None) -> AgendaSettings:
        a: _AgendaFile = self.tables["agenda"]
        day, _, clock = a.cutoff.partition(" ")
        weekday = parse_weekday(day)
        at = None
        with contextlib.suppress(PydanticCustomError):
            at = _clock(clock)
        if weekday is None or at is None:
            self.problems.append(f"agenda.cutoff: invalid cutoff '{a.cutoff}' (use e.g. \"tue 12:00\")")
        if channels is not None and a.channel not in channels:
            self.problems.append(f"agenda.channel: '{a.channel}' is not a purpose in [mattermost.channels]")
        return AgendaSettings(
            label=None if a.all_open else a.label,
            cutoff_weekday=weekday if weekday is not None else 1,
            cutoff_time=at or time(12, 0),
            top=a.top,
            channel=a.channel,
            close_on_done=a.close_on_done,
            reconcile_minutes=a.reconcile_minutes,
        )

    def _lecture_free(self) -> tuple[LectureFree, ...]:
        entries: list[tuple[int, _LectureFreeFile]] = self.arrays["lecture_free"]
        for i, p in entries:
            if p.end < p.start:
                self.problems.append(f"lecture_free[{i}].end: {p.end} is before start ({p.start})")
        return tuple(LectureFree(name=p.name, start=p.start, end=p.end) for _, p in entries)
