"""Which file of a deployment each table and key belongs in, written down once.

A deployment file holds what every course shares: where the bot listens ([server]), its
database, the cluster ([slurm]), and how it reaches Mattermost and GitLab (one bot
account, one server each). A course file holds everything else: the course itself, its
staff, assignments, groups, teams, rules, reminders, agenda and rotas. Two tables are
split by key: [mattermost] (server and connection in the deployment file; the team and
its channels in each course's) and [gitlab] (server, connection and the passes that
work it in the deployment file; the course project, assignments group and blog prefix
in each course's). `repository_hooks` is shared because the alternative to it, an
admin's system hook, covers every project on the server at once.

An old one-course file has every table in one file; none of this applies to it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from idlbot.config.schema import SECTIONS

DEPLOYMENT_TABLE = "deployment"
"""The table that makes a file a deployment file: `courses = ["courses/idl.toml", ...]`."""

SHARED_TABLES: frozenset[str] = frozenset({"server", "database", "slurm"})
"""Tables that live in the deployment file only, whole."""

SHARED_KEYS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "mattermost": frozenset({"url", "request_timeout", "ping_interval", "resync_window", "bot_username"}),
        "gitlab": frozenset(
            {"url", "request_timeout", "reconcile_minutes", "max_workers", "repository_hooks"}
        ),
    }
)
"""Tables split by key: these keys are the deployment file's, the others each course's."""

COURSE_TABLES: frozenset[str] = frozenset(SECTIONS) - SHARED_TABLES - SHARED_KEYS.keys()
"""Tables that live in each course's file only, whole."""

Owner = Literal["deployment", "course"]


def owner(table: str, key: str | None = None) -> Owner:
    """Whose file `table` (or `table.key`, for a split table) belongs in. A split table
    named without a key is the course's: a course cannot do without its [mattermost]."""
    if table in SHARED_TABLES or table == DEPLOYMENT_TABLE:
        return "deployment"
    split = SHARED_KEYS.get(table)
    return "deployment" if split is not None and key in split else "course"


_KEY = re.compile(r"([^.\[:]+)(?:\.([^.\[:]+))?")


def owner_of_problem(line: str) -> Owner | None:
    """Whose file a "dotted.key: message" line is about, from its key; None for a line
    about the environment ("env IDLBOT_…: missing"), which is in no file."""
    if line.startswith("env "):
        return None
    match = _KEY.match(line)
    if match is None:  # pragma: no cover - every problem line starts with its key
        return "course"
    return owner(match[1], match[2])
