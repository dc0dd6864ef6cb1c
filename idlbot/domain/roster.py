"""The course roster as data: the CSV format, username rules, and validation.

Validation runs before any write, so a file with one bad line changes nothing: the
operator fixes every listed line and imports again. The header must be exactly
``mattermost_username,gitlab_username,cluster_username,exercise_group,team`` (any order,
any case): a misspelt column would otherwise be read as "no GitLab usernames" and
silently stop every hand-in from counting. The same username checks serve single edits
from chat (``check_*``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from idlbot.domain.course import Course
from idlbot.domain.ledger import Student
from idlbot.domain.usernames import normalize_username

COLUMNS: tuple[str, ...] = (
    "mattermost_username",
    "gitlab_username",
    "cluster_username",
    "exercise_group",
    "team",
)

_MATTERMOST = re.compile(r"[a-z][a-z0-9._-]{2,21}")
_GITLAB = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]{0,253}[a-z0-9_-])?")
_CLUSTER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


def check_mattermost(value: str) -> str:
    """Lowercased Mattermost username; ValueError (message fit for chat) if malformed."""
    name = normalize_username(value)
    if not _MATTERMOST.fullmatch(name):
        raise ValueError(
            f"invalid Mattermost username {value.strip()!r} (3-22 of a-z 0-9 . _ -, a letter first)"
        )
    return name


def check_gitlab(value: str) -> str | None:
    """Lowercased GitLab username, None for empty; ValueError if malformed."""
    name = normalize_username(value)
    if not name:
        return None
    if not _GITLAB.fullmatch(name) or name.endswith((".git", ".atom")):
        raise ValueError(f"invalid GitLab username {value.strip()!r}")
    return name


def check_cluster(value: str) -> str | None:
    """Lowercased cluster (POSIX) login, None for empty; ValueError if malformed."""
    name = normalize_username(value)
    if not name:
        return None
    if not _CLUSTER.fullmatch(name):
        raise ValueError(f"invalid cluster username {value.strip()!r} (up to 32 of a-z 0-9 _ -)")
    return name


def check_group(value: str, course: Course | None) -> str | None:
    """An exercise group id the course knows, None for empty."""
    gid = value.strip().lower()
    if not gid:
        return None
    if course is not None and course.group(gid) is None:
        known = ", ".join(g.id for g in course.groups) or "none configured"
        raise ValueError(f"unknown exercise group {gid!r} (known: {known})")
    return gid


def check_team(value: str, course: Course | None) -> str | None:
    """A team id the course knows, None for empty."""
    tid = value.strip().lower()
    if not tid:
        return None
    if course is not None and course.team(tid) is None:
        known = ", ".join(t.id for t in course.teams) or "none configured"
        raise ValueError(f"unknown team {tid!r} (known: {known})")
    return tid


class Keep(Enum):
    """Marks a field of :class:`RosterEdit` as "leave as it is" (None means "clear it")."""

    KEEP = "keep"


KEEP = Keep.KEEP

RosterChanges = dict[str, str | bool | None]
"""Validated column values of one roster entry (`gitlab`, `cluster`, `group_id`,
`team_id`, `active`), only those to change."""


@dataclass(frozen=True)
class RosterEdit:
    """A staff edit of one roster entry, as typed: only the fields not ``KEEP`` change."""

    gitlab: str | Keep | None = KEEP
    cluster: str | Keep | None = KEEP
    group_id: str | Keep | None = KEEP
    team_id: str | Keep | None = KEEP
    active: bool | Keep = KEEP


def roster_changes(edit: RosterEdit, course: Course | None) -> RosterChanges:
    """The edit's values checked like a roster file line; ValueError (fit for chat) at the
    first bad one. Whether a GitLab name is already someone else's needs the database, so
    storage reports that (as `RosterConflict`)."""
    checks: dict[str, Callable[[str], str | None]] = {
        "gitlab": check_gitlab,
        "cluster": check_cluster,
        "group_id": lambda v: check_group(v, course),
        "team_id": lambda v: check_team(v, course),
    }
    values: RosterChanges = {}
    for name, check in checks.items():
        value = getattr(edit, name)
        if value is not KEEP:
            values[name] = None if value is None else check(value)
    if edit.active is not KEEP:
        values["active"] = edit.active
    return values


@dataclass(frozen=True)
class RosterRow:
    line: int
    student: Student


@dataclass(frozen=True)
class RosterError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class RosterConflict(Exception):
    """The file is valid on its own but clashes with the database (a GitLab username
    that another student, not in the file, already has). ``clashes`` maps the
    file's Mattermost username to the problem."""

    def __init__(self, clashes: dict[str, str]) -> None:
        self.clashes = clashes
        super().__init__("; ".join(f"{who}: {why}" for who, why in clashes.items()))


def _header(fields: Sequence[str]) -> list[str]:
    names = [f.strip().lower().lstrip("\ufeff") for f in fields]
    problems: list[str] = []
    unknown = [n for n in names if n not in COLUMNS]
    missing = [c for c in COLUMNS if c not in names]
    doubled = sorted({n for n in names if names.count(n) > 1 and n in COLUMNS})
    if unknown:
        problems.append(f"unknown column(s): {', '.join(repr(n) for n in unknown)}")
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if doubled:
        problems.append(f"repeated column(s): {', '.join(doubled)}")
    if problems:
        raise ValueError("; ".join(problems) + f" (the header must be {','.join(COLUMNS)})")
    return names


def _student(values: dict[str, str], course: Course | None) -> tuple[Student | None, list[str]]:
    problems: list[str] = []

    def check(fn: Callable[[str], str | None], column: str) -> str | None:
        try:
            return fn(values[column])
        except ValueError as err:
            problems.append(str(err))
            return None

    mattermost = check(check_mattermost, "mattermost_username")
    gitlab = check(check_gitlab, "gitlab_username")
    cluster = check(check_cluster, "cluster_username")
    group = check(lambda v: check_group(v, course), "exercise_group")
    team = check(lambda v: check_team(v, course), "team")
    if problems or mattermost is None:
        return None, problems
    return Student(mattermost=mattermost, gitlab=gitlab, cluster=cluster, group_id=group, team_id=team), []


def parse_roster(text: str, course: Course | None = None) -> tuple[list[RosterRow], list[RosterError]]:
    """Every valid row and every problem, with 1-based line numbers (line 1 is the header).

    Groups and teams are checked against ``course`` when given. A username used twice
    in the file is an error on the later line, naming the first.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        return [], [RosterError(1, f"empty file (expected the header {','.join(COLUMNS)})")]
    except csv.Error as err:
        return [], [RosterError(1, f"not valid CSV: {err}")]
    try:
        names = _header(header)
    except ValueError as err:
        return [], [RosterError(1, str(err))]

    rows: list[RosterRow] = []
    errors: list[RosterError] = []
    first_seen: dict[tuple[str, str], int] = {}
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            errors.append(RosterError(start, f"not valid CSV: {err}"))
            continue
        if not any(f.strip() for f in fields):
            continue  # blank lines are harmless
        if len(fields) != len(names):
            errors.append(RosterError(start, f"expected {len(names)} fields, got {len(fields)}"))
            continue
        student, problems = _student(dict(zip(names, fields, strict=True)), course)
        errors.extend(RosterError(start, p) for p in problems)
        if student is None:
            continue
        repeats = _repeats(student, start, first_seen)
        errors.extend(repeats)
        if not repeats:
            rows.append(RosterRow(start, student))
    return rows, errors


def _repeats(student: Student, line: int, first_seen: dict[tuple[str, str], int]) -> list[RosterError]:
    """Errors for usernames of ``student`` already used on an earlier line (and note its own)."""
    found: list[RosterError] = []
    named = (("Mattermost", student.mattermost), ("GitLab", student.gitlab), ("cluster", student.cluster))
    for kind, name in named:
        if name is None:
            continue
        earlier = first_seen.setdefault((kind, name), line)
        if earlier != line:
            found.append(RosterError(line, f"{kind} username {name!r} already used on line {earlier}"))
    return found
