"""The file's layout: which tables it has, and the tables whose shape is not the app's.

The domain's values (`Course`, `Rules`, `ReminderRule`, ...) are pure dataclasses and
cannot carry pydantic limits, and some differ from what people write: the agenda's
cutoff is "tue 12:00" for two domain fields, an assignment's release defaults to the
course start. So those tables get a file model here, and `build` turns it into the
domain value, copying same-named fields by name (`build.convert`), never one by one.
Defaults of same-named fields are the domain's own (`= Rules.on_time_quota`), so a
default is written once too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated

from pydantic import Field, with_config

from idlbot.config.fields import (
    Clock,
    CourseId,
    Cutoff,
    Day,
    Duration,
    Flag,
    HttpUrl,
    Ident,
    Int,
    Moment,
    Offsets,
    Purpose,
    Real,
    ReminderTarget,
    Text,
    Usernames,
    WeekdayNumber,
    WeeklyTime,
    ZoneName,
)
from idlbot.config.routines import BlogNudgeFile, WarningsFile
from idlbot.config.values import (
    TABLE,
    DatabaseSettings,
    GitLabSettings,
    MattermostSettings,
    RolesSettings,
    ServerSettings,
    SlurmSettings,
)
from idlbot.domain.course import Rules
from idlbot.domain.rota import SummarySettings
from idlbot.domain.settings import RULE_KINDS, AgendaSettings, PresenterSettings, ReminderRule


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class CourseFile:
    """`id`: the course's key in the database, stable for the life of its records. An old
    one-course file may leave it out (`DEFAULT_COURSE_ID`); a deployment's course file
    must give it (see `deployment`)."""

    id: CourseId | None = None
    name: Text
    term: Text
    timezone: ZoneName
    start: Day
    end: Day


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class QuestionsFile:
    name: Text = "Questions"
    weekday: WeekdayNumber
    time: Clock
    url: HttpUrl


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class ClassesFile:
    weekday: WeekdayNumber
    start: Clock
    end: Clock
    room: Text = ""


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class AssignmentFile:
    id: Ident
    title: Text
    due: Moment
    release: Moment | None = None  # default: the course start


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class GroupFile:
    id: Ident
    name: Text
    weekday: WeekdayNumber
    start: Clock
    end: Clock
    room: Text
    first_session: Day
    tutors: Usernames = ()
    channel: Text | None = None  # a purpose or a channel name


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class LectureFreeFile:
    name: Text
    start: Day
    end: Day


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class TeamFile:
    id: Ident
    name: Text
    wiki_prefix: Text | None = None  # default teams/<id>


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class RulesFile:
    on_time_quota: Annotated[Real, Field(gt=0, le=1)] = Rules.on_time_quota
    fails_to_exclusion: Annotated[Int, Field(ge=1, le=100)] = Rules.fails_to_exclusion
    blog_posts: Annotated[Int, Field(ge=0, le=100)] = Rules.blog_posts
    progress_reports: Annotated[Int, Field(ge=0, le=100)] = Rules.progress_reports
    group_paper: Flag = Rules.group_paper


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class ReminderFile:
    """One [reminders.<kind>] table; the kind comes from the table's name."""

    enabled: Flag = ReminderRule.enabled
    offsets: Offsets = ReminderRule.offsets
    at: Clock | None = ReminderRule.at
    channel: Purpose | None = ReminderRule.channel
    to: ReminderTarget = ReminderRule.to
    grace: Duration = ReminderRule.grace


_CUTOFF = WeeklyTime(AgendaSettings.cutoff_weekday, AgendaSettings.cutoff_time)  # "tue 12:00"


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class AgendaFile:
    label: Text | None = AgendaSettings.label
    all_open: Flag = False  # every open issue is a question: the domain's label=None
    cutoff: Cutoff = _CUTOFF
    top: Annotated[Int, Field(ge=1, le=100)] = AgendaSettings.top
    channel: Purpose = AgendaSettings.channel
    close_on_done: Flag = AgendaSettings.close_on_done
    reconcile_minutes: Annotated[Real, Field(gt=0, le=1440)] = AgendaSettings.reconcile_minutes


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class PresentersFile:
    """[presenters]: the team presenter rota. Absent: off (`PresenterSettings` defaults);
    present: on unless `enabled = false`."""

    enabled: Flag = True
    propose_before: Duration = PresenterSettings.propose_before
    rule: Flag = PresenterSettings.rule
    start: Day | None = PresenterSettings.start


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class SummariesFile:
    """[summaries]: the session-summary rota (domain/rota.py)."""

    enabled: Flag = SummarySettings.enabled
    channel: Purpose = SummarySettings.channel
    wiki_prefix: Text = SummarySettings.wiki_prefix
    announce_before: Duration = SummarySettings.announce_before
    remind_at: Clock = SummarySettings.remind_at
    alert: Flag = SummarySettings.alert


REMINDER_KINDS: tuple[str, ...] = RULE_KINDS


@dataclass(frozen=True)
class Section:
    """How one top-level key of the file is read.

    `array`: [[name]] tables, each validated on its own. `kinds`: [name.<kind>] tables,
    each validated on its own, so one bad kind does not keep another's checks from
    running. An absent optional table is validated from {} (its defaults) when that
    works, else it is None: an absent [gitlab] turns GitLab off.
    """

    schema: type
    required: bool = False
    array: bool = False
    kinds: tuple[str, ...] = ()


SECTIONS: Mapping[str, Section] = MappingProxyType(
    {
        "course": Section(CourseFile, required=True),
        "questions": Section(QuestionsFile, required=True),
        "classes": Section(ClassesFile),
        "mattermost": Section(MattermostSettings, required=True),
        "server": Section(ServerSettings, required=True),
        "database": Section(DatabaseSettings),
        "roles": Section(RolesSettings, required=True),
        "qualification": Section(RulesFile),
        "gitlab": Section(GitLabSettings),
        "reminders": Section(ReminderFile, kinds=REMINDER_KINDS),
        "agenda": Section(AgendaFile),
        "summaries": Section(SummariesFile),
        "slurm": Section(SlurmSettings),
        "presenters": Section(PresentersFile),
        "blog_nudge": Section(BlogNudgeFile),
        "warnings": Section(WarningsFile),
        "assignments": Section(AssignmentFile, array=True),
        "exercise_groups": Section(GroupFile, array=True),
        "lecture_free": Section(LectureFreeFile, array=True),
        "teams": Section(TeamFile, array=True),
    }
)
