"""A deployment: the courses one bot serves, each as the complete `Settings` it uses.

Two file formats:

* The one-course file of old (config.example.toml) is a deployment of one course; its
  `[course] id` may be left out (`DEFAULT_COURSE_ID`), and its errors read as before.
* A deployment file has `[deployment] courses = ["courses/idl.toml", ...]` (paths
  relative to it) and the tables every course shares; each course file has the course's
  own tables and `[course] id`. Which table and key belongs where is `placement`.
  Each course's tables are merged with the shared ones and validated as one file would
  be, so every course gets the same `Settings` a one-course file gives.

Every problem of the whole set is listed at once, each line starting with the file it
is in ("courses/ml.toml: mattermost.url: belongs in the deployment file deploy.toml");
lines about the environment name no file. Across courses, ids, Mattermost teams, GitLab
projects, assignments groups and channels must not repeat: a slash command's team and
a hook's project pick the course.

Secrets: the Mattermost, GitLab and Slurm ones are shared. Each team's /idl command has
a token of its own: one course reads IDLBOT_SLASH_TOKEN as before, several read
IDLBOT_SLASH_TOKEN_<ID> each (`slash_token_variable`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from idlbot.config.environment import slash_token_variable
from idlbot.config.errors import ConfigError, show, unknown_key
from idlbot.config.loading import Unreadable, course_settings, decode, read, read_or_raise
from idlbot.config.placement import DEPLOYMENT_TABLE, SHARED_KEYS, Owner, owner, owner_of_problem
from idlbot.config.schema import SECTIONS
from idlbot.config.values import Settings

_COURSE_ID = re.compile(r"[a-z][a-z0-9_-]{0,31}")  # as fields.CourseId checks it, with its message
_ENVIRONMENT = 1 << 30  # the rank of problems in no file: listed after every file's


@dataclass(frozen=True)
class Deployment:
    """The courses, in the order the deployment file lists them (an old one-course file:
    that one course). Shared tables are equal in every course's `Settings`."""

    courses: tuple[Settings, ...]
    source: str

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.course.id for s in self.courses)

    @property
    def first(self) -> Settings:
        """Course one: the course whose id a single-course database's records get when
        it is migrated, and where the shared tables can be read."""
        return self.courses[0]

    @property
    def single(self) -> Settings:
        """The one course; a ConfigError when there are several (the caller needs one)."""
        if len(self.courses) != 1:
            raise ConfigError(
                [f"deployment.courses: {len(self.courses)} courses ({', '.join(self.ids)}); this needs one"],
                self.source,
            )
        return self.courses[0]

    def by_id(self, course_id: str) -> Settings | None:
        return next((s for s in self.courses if s.course.id == course_id), None)

    def by_team(self, team_name: str) -> Settings | None:
        """The course whose Mattermost team has this URL name (teams never repeat)."""
        name = team_name.lower()
        return next((s for s in self.courses if s.mattermost.team == name), None)

    def slash_variable(self, course_id: str) -> str:
        """The environment variable holding this course's /idl token."""
        return slash_token_variable(course_id, several=len(self.courses) > 1)


def load_deployment(
    path: str | Path, env: Mapping[str, str] | None = None, *, require_secrets: bool = True
) -> Deployment:
    """Read and validate a deployment file and its course files, or an old one-course
    file; secrets from `env` (default os.environ). Raises ConfigError listing every problem."""
    file = Path(path)
    source = str(file)
    data = decode(read_or_raise(file), source)
    if isinstance(data, str):
        raise ConfigError([data], source)
    environ = os.environ if env is None else env
    if DEPLOYMENT_TABLE in data:
        return _Loader(file, environ, require_secrets).load(data)
    problems: list[str] = []
    settings = course_settings(data, environ, require_secrets=require_secrets, path=file, problems=problems)
    if settings is None:
        raise ConfigError(problems, source)
    return Deployment((settings,), source)


@dataclass(frozen=True)
class _Course:
    label: str  # the file as the deployment lists it
    own: dict[str, Any]  # its tables, misplaced ones left out
    settings: Settings | None

    def text(self, table: str, key: str) -> str | None:
        """A value as written, for the cross-course checks: they compare what the files
        say, even when another key of the table failed to validate."""
        value = self.own.get(table, {}).get(key) if isinstance(self.own.get(table), dict) else None
        return value.strip().lower() if isinstance(value, str) and value.strip() else None


class _Loader:
    """One pass over a deployment file and its course files, collecting every problem
    as (rank, line): the deployment file's first, then each course's, then the
    environment's; a shared-table problem is found once per course but listed once."""

    def __init__(self, file: Path, env: Mapping[str, str], require_secrets: bool) -> None:
        self.file = file
        self.label = file.name
        self.env = env
        self.require_secrets = require_secrets
        self.problems: list[tuple[int, str]] = []

    def add(self, rank: int, label: str | None, line: str) -> None:
        self.problems.append((rank, line if label is None else f"{label}: {line}"))

    def load(self, data: dict[str, Any]) -> Deployment:
        listed = self._listed(data[DEPLOYMENT_TABLE])
        texts = [(rank, name, self._read(i, name)) for rank, (i, name) in enumerate(listed, 1)]
        shared = self._own(data, "deployment", 0, self.label)
        several = len(listed) > 1
        courses = [
            self._course(rank, name, text, shared, several) for rank, name, text in texts if text is not None
        ]
        loaded = [c for c in courses if c is not None]
        self._cross_check(loaded, several=several)
        ranked = sorted(self.problems, key=lambda p: p[0])
        problems = list(dict.fromkeys(line for _, line in ranked))
        found = tuple(c.settings for c in loaded if c.settings is not None)
        if problems or len(found) != len(listed) or not found:
            problems = problems or [f"{self.label}: no course could be loaded"]
            raise ConfigError(problems, str(self.file), located=True)
        return Deployment(found, str(self.file))

    def _listed(self, table: object) -> list[tuple[int, str]]:
        """(index, file name) of each course file the [deployment] table lists."""
        where = f"{DEPLOYMENT_TABLE}.courses"
        if not isinstance(table, dict):
            self.add(0, self.label, f"{DEPLOYMENT_TABLE}: expected a table, got {show(table)}")
            return []
        for key, value in table.items():
            if key != "courses":
                self.add(0, self.label, unknown_key(f"{DEPLOYMENT_TABLE}.{key}", value, ["courses"]))
        courses = table.get("courses")
        example = 'e.g. courses = ["courses/idl.toml"], relative to this file'
        if courses is None or courses == []:
            self.add(0, self.label, f"{where}: give at least one course file ({example})")
            return []
        if not isinstance(courses, list):
            self.add(
                0, self.label, f"{where}: must be an array of file names (got {show(courses)}; {example})"
            )
            return []
        listed: list[tuple[int, str]] = []
        seen: dict[Path, int] = {}
        for i, name in enumerate(courses):
            if not isinstance(name, str) or not name.strip():
                self.add(0, self.label, f"{where}[{i}]: must be a file name (got {show(name)})")
                continue
            resolved = (self.file.parent / name.strip()).resolve()
            if resolved in seen:
                self.add(
                    0, self.label, f"{where}[{i}]: '{name}' is listed twice (also {where}[{seen[resolved]}])"
                )
                continue
            seen[resolved] = i
            listed.append((i, name.strip()))
        return listed

    def _own(self, data: dict[str, Any], who: Owner, rank: int, label: str) -> dict[str, Any]:
        """The tables of `data` that belong in `who`'s file; each one that does not, and
        each unknown one, is a problem of `label`."""
        known = [t for t in (*SECTIONS, DEPLOYMENT_TABLE) if t in SHARED_KEYS or owner(t) == who]
        out: dict[str, Any] = {}
        for table, value in data.items():
            if table == DEPLOYMENT_TABLE and who == "deployment":
                continue
            if table in SHARED_KEYS:
                part = self._split(table, value, who, rank, label)
                if part is not None:
                    out[table] = part
            elif table in known:
                out[table] = value
            elif table in SECTIONS or table == DEPLOYMENT_TABLE:
                self.add(rank, label, self._misplaced(table, who))
            else:
                self.add(rank, label, unknown_key(table, value, known))
        return out

    def _split(self, table: str, value: object, who: Owner, rank: int, label: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(rank, label, f"{table}: expected a table, got {show(value)}")
            return None
        keys = [f.name for f in fields(SECTIONS[table].schema)]
        mine = [k for k in keys if owner(table, k) == who]
        for key, item in value.items():
            if key not in keys:
                self.add(rank, label, unknown_key(f"{table}.{key}", item, mine))
            elif key not in mine:
                self.add(rank, label, self._misplaced(f"{table}.{key}", who))
        return {k: v for k, v in value.items() if k in mine}

    def _misplaced(self, where: str, who: Owner) -> str:
        if who == "course":
            return f"{where}: belongs in the deployment file {self.label}"
        return f"{where}: belongs in each course's file"

    def _read(self, index: int, name: str) -> str | None:
        """A course file's text; None when it cannot be read (and the line says which)."""
        text = read(self.file.parent / name)
        if isinstance(text, Unreadable):
            why = text.relative_to(self.label)
            where = f"{DEPLOYMENT_TABLE}.courses[{index}]"
            self.add(0, self.label, f"{where}: cannot read {name} ({why.why}); {why.fix}")
            return None
        return text

    def _course(
        self, rank: int, name: str, text: str, shared: dict[str, Any], several: bool
    ) -> _Course | None:
        data = decode(text, name)
        if isinstance(data, str):
            self.add(rank, None, data)
            return None
        own = self._own(data, "course", rank, name)
        course_id = self._course_id(rank, name, own.get("course"))
        # several courses and an unusable id: no token is read (the id's problem is listed)
        slash = slash_token_variable(course_id or "", several=several) if course_id or not several else None
        problems: list[str] = []
        settings = course_settings(
            _merged(shared, own),
            self.env,
            require_secrets=self.require_secrets,
            path=self.file.parent / name,
            problems=problems,
            slash_variable=slash,
        )
        for line in problems:
            who = owner_of_problem(line)
            if who is None:
                own_token = several and slash is not None and line.startswith(f"env {slash}:")
                hint = f" (course {course_id}'s /idl token: each team's command has its own)"
                self.add(_ENVIRONMENT, None, line + (hint if own_token else ""))
            elif who == "deployment":
                self.add(0, self.label, line)
            else:
                self.add(rank, name, line)
        return _Course(name, own, settings)

    def _course_id(self, rank: int, name: str, table: object) -> str | None:
        """The course's id as written, when it is a usable one (else `parse` says why)."""
        if not isinstance(table, dict):
            return None  # `parse` says the table is missing or no table
        value = table.get("id")
        if value is None:
            self.add(rank, name, 'course.id: missing (each course of a deployment has one, e.g. id = "idl")')
            return None
        return value if isinstance(value, str) and _COURSE_ID.fullmatch(value) else None

    def _cross_check(self, courses: list[_Course], *, several: bool) -> None:
        """What must not repeat across courses; a repeat is a problem of the later file
        and names the earlier one."""
        for table, key, noun, reason in _UNIQUE:
            first: dict[str, _Course] = {}
            for rank, course in enumerate(courses, 1):
                value = course.text(table, key)
                if value is not None and value in first:
                    line = f"{table}.{key}: {noun} '{value}' is also {first[value].label}'s"
                    self.add(rank, course.label, line + (f" ({reason})" if reason else ""))
                elif value is not None:
                    first[value] = course
        self._channels(courses)
        self._nested_groups(courses)
        if several:
            self._slash_variables(courses)

    def _channels(self, courses: list[_Course]) -> None:
        """A channel (a team's channel name) is one course's: its posts, reminders and
        agenda are that course's. One line per pair of courses, naming every channel."""
        for rank, course in enumerate(courses, 1):
            team = course.text("mattermost", "team")
            for other in courses[: rank - 1]:
                both = sorted(_channel_names(course) & _channel_names(other))
                if team is None or other.text("mattermost", "team") != team or not both:
                    continue
                names = ", ".join(f"'{n}'" for n in both)
                self.add(
                    rank,
                    course.label,
                    f"mattermost.channels: {names} in team '{team}' {'is' if len(both) == 1 else 'are'} "
                    f"also {other.label}'s (a channel belongs to one course)",
                )

    def _nested_groups(self, courses: list[_Course]) -> None:
        """A group inside another course's assignments group: its repositories would be
        both courses' hand-ins."""
        for rank, course in enumerate(courses, 1):
            group = course.text("gitlab", "assignments_group")
            for other in courses:
                outer = other.text("gitlab", "assignments_group")
                if other is course or group is None or outer is None or not group.startswith(outer + "/"):
                    continue
                self.add(
                    rank,
                    course.label,
                    f"gitlab.assignments_group: '{group}' is inside {other.label}'s assignments group "
                    f"'{outer}' (hand-ins are routed to a course by repository)",
                )

    def _slash_variables(self, courses: list[_Course]) -> None:
        """ "a-b" and "a_b" would read their tokens from the same variable."""
        first: dict[str, tuple[str, _Course]] = {}
        for rank, course in enumerate(courses, 1):
            course_id = course.text("course", "id")
            if course_id is None:
                continue
            variable = slash_token_variable(course_id, several=True)
            other_id, other = first.setdefault(variable, (course_id, course))
            if other_id != course_id:
                self.add(
                    rank,
                    course.label,
                    f"course.id: '{course_id}' would read its /idl token from {variable}, as '{other_id}' "
                    f"of {other.label} does; choose ids that differ in more than '-' and '_'",
                )


_UNIQUE: tuple[tuple[str, str, str, str], ...] = (
    ("course", "id", "course id", ""),
    ("mattermost", "team", "Mattermost team", "a slash command's team picks the course"),
    ("gitlab", "project", "GitLab project", "GitLab hooks are routed to a course by project"),
    ("gitlab", "assignments_group", "assignments group", "hand-ins are routed to a course by repository"),
)
"""(table, key, what it is, why it must be one course's) of the values no two courses share."""


def _channel_names(course: _Course) -> set[str]:
    table = course.own.get("mattermost")
    channels = table.get("channels") if isinstance(table, dict) else None
    if not isinstance(channels, dict):
        return set()
    return {name.strip().lower() for name in channels.values() if isinstance(name, str) and name.strip()}


def _merged(shared: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """A course's tables with the deployment's: what a one-course file would hold. A
    course without [gitlab] has GitLab off, whatever the deployment says; [mattermost]
    is always there, so a course without one is told its team and channels are missing."""
    merged = {k: v for k, v in shared.items() if k not in SHARED_KEYS}
    merged.update({k: v for k, v in own.items() if k not in SHARED_KEYS})
    for table in SHARED_KEYS:
        if table in own or table == "mattermost":
            merged[table] = {**shared.get(table, {}), **own.get(table, {})}
    return merged
