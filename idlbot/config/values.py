"""The frozen settings the app gets, validated straight from their TOML tables.

Where a table's shape is what the app needs ([mattermost], [server], [database],
[roles], [gitlab], [slurm]), the class below IS the schema: each field is declared once,
with its file type, its limits and its default, and `parse` validates the table into
it (`TypeAdapter(GitLabSettings)`). They stay standard dataclasses: constructing one in
code (a test, `dataclasses.replace(settings.server, port=0)`) runs no validation, as
before, and nothing outside `idlbot.config` needs pydantic to use them.

`kw_only`: required and optional keys are listed in the file's order, not Python's
"defaults last" order, and nobody builds settings positionally.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, with_config

from idlbot.config.environment import Secrets
from idlbot.config.fields import (
    BaseUrl,
    ChannelName,
    DbUrl,
    Flag,
    GitLabPath,
    HttpUrl,
    Int,
    Purpose,
    Real,
    ResyncWindow,
    TeamName,
    Text,
    Username,
    Usernames,
    nonempty,
)
from idlbot.domain.blog_nudge import BlogNudgeSettings
from idlbot.domain.course import Course
from idlbot.domain.early_warnings import WarningSettings
from idlbot.domain.roles import Role, role_of
from idlbot.domain.rota import SummarySettings
from idlbot.domain.settings import AgendaSettings, PresenterSettings, ReminderSettings

TABLE = ConfigDict(extra="forbid")
"""Every table of the file: an unknown key is an error, not silently ignored (a misspelt
`reqest_timeout` would otherwise leave the default in place with no hint)."""

REQUIRED_CHANNELS: tuple[str, ...] = ("town_square", "assignments", "questions", "cluster")


def _frozen_mapping(channels: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(channels))


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class MattermostSettings:
    """`url` is http(s)://host[:port] with no trailing slash; `channels` maps a purpose
    ("questions") to a channel name in `team`, so code never hard-codes names. The
    websocket watchdog reconnects after 2 * `ping_interval` seconds of silence. On a first
    start (no re-sync cursor yet) the bot answers DMs and @-mentions up to `resync_window`
    old, and never older ones after a long downtime."""

    url: BaseUrl
    team: TeamName
    channels: Annotated[Mapping[Purpose, ChannelName], AfterValidator(_frozen_mapping)]
    request_timeout: Annotated[Real, Field(gt=0, le=300)] = 10.0
    ping_interval: Annotated[Real, Field(gt=0, le=3600)] = 30.0
    resync_window: ResyncWindow = timedelta(hours=24)
    bot_username: Username | None = None

    def channel(self, purpose: str) -> str | None:
        return self.channels.get(purpose)

    @property
    def watchdog_timeout(self) -> float:
        return 2 * self.ping_interval


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    """Where our aiohttp app listens; `public_url` is how Mattermost/GitLab reach it."""

    host: Text = "127.0.0.1"
    port: Annotated[Int, Field(ge=1, le=65535)] = 8080
    public_url: HttpUrl


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    """`pool_size` connections stay open, up to `max_overflow` more under a burst: enough
    for 64 concurrent slash commands, whose transactions each hold one for well under a
    millisecond (PostgreSQL's default of 100 connections leaves room for several bots)."""

    url: DbUrl = "sqlite+aiosqlite:///idlbot.db"
    pool_size: Annotated[Int, Field(ge=1, le=100)] = 10
    max_overflow: Annotated[Int, Field(ge=0, le=100)] = 10


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class RolesSettings:
    """Lowercased usernames, each once. After loading, `tutors` also holds every
    exercise group's tutors."""

    instructors: Annotated[Usernames, AfterValidator(nonempty("at least one instructor is required"))]
    tutors: Usernames = ()

    def role(self, username: str) -> Role:
        return role_of(username, instructors=self.instructors, tutors=self.tutors)


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class GitLabSettings:
    """The course's GitLab. Absent [gitlab] means GitLab features are off."""

    url: BaseUrl
    project: GitLabPath  # the course project's path, e.g. "stober/idl2018"
    assignments_group: Text  # group holding each student's / assignment group's repository
    blog_prefix: Text = "blog"  # blog/<gitlab-username>/… counts for that student
    request_timeout: Annotated[Real, Field(gt=0, le=300)] = 10.0
    reconcile_minutes: Annotated[Real, Field(gt=0, le=1440)] = 10.0
    max_workers: Annotated[Int, Field(ge=1, le=32)] = 4
    # the tag-push hook on each assignment repository (setup-gitlab, reconciliation); false
    # when an admin's system hook with tag push events delivers hand-ins instead
    repository_hooks: Flag = True


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class SlurmSettings:
    enabled: Flag = False
    cluster: Text = "cluster"
    conf: Text | None = None  # path to slurm.conf; else SLURM_CONF from the environment
    bin_dir: Text | None = None  # where sacct, squeue, sinfo, scontrol live, when not on PATH
    poll_seconds: Annotated[Real, Field(gt=0, le=3600)] = 60.0
    # where idlbot-slurm-mail spools events, when the bot runs on that host: read at start
    # and on every poll, so an event spooled while the bot was down is not left to cron
    spool_dir: Text | None = None


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
    presenters: PresenterSettings = field(default_factory=PresenterSettings)  # absent: off
    blog_nudge: BlogNudgeSettings = field(default_factory=BlogNudgeSettings)  # absent: off
    warnings: WarningSettings = field(default_factory=WarningSettings)  # absent: off
    summaries: SummarySettings = field(default_factory=lambda: SummarySettings(enabled=False))
    defaults: tuple[str, ...] = ()  # "[qualification] not set: using …", one per absent section

    def summary(self) -> str:
        """One log line saying what was loaded (no secrets; there are none to leak), and
        which sections were left out and what stands in for them."""
        c = self.course
        return "; ".join(
            (
                f"{c.name} ({c.term}, {c.tz.key}): {_count(len(c.assignments), 'assignment')}, "
                f"{_count(len(c.groups), 'exercise group')}, "
                f"{_count(len(c.lecture_free), 'lecture-free period')}; "
                f"Mattermost {self.mattermost.url}/{self.mattermost.team}; database {self.database.url}",
                *self.defaults,
            )
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
