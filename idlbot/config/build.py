"""Cross-field checks and the conversion of file models to domain values.

Runs on whatever validated (see `parse`), so a bad [mattermost] section still leaves
the assignment checks to report. Wall-clock values (assignment dues, "13:00") are
interpreted in the course zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from idlbot.config.defaults import absent_sections
from idlbot.config.environment import SECRET_ENV, Secrets
from idlbot.config.fields import unique
from idlbot.config.parse import Parsed
from idlbot.config.routines import BlogNudgeFile, WarningsFile, blog_nudge_settings, warning_settings
from idlbot.config.schema import (
    AgendaFile,
    AssignmentFile,
    ClassesFile,
    CourseFile,
    GroupFile,
    LectureFreeFile,
    PresentersFile,
    QuestionsFile,
    ReminderFile,
    RulesFile,
    SummariesFile,
    TeamFile,
)
from idlbot.config.values import (
    REQUIRED_CHANNELS,
    DatabaseSettings,
    GitLabSettings,
    MattermostSettings,
    RolesSettings,
    ServerSettings,
    Settings,
    SlurmSettings,
)
from idlbot.domain.course import (
    DEFAULT_COURSE_ID,
    Assignment,
    Course,
    ExerciseGroup,
    LectureFree,
    Rules,
    WeeklyClass,
    WeeklyDeadline,
    weekday_name,
)
from idlbot.domain.rota import SummarySettings
from idlbot.domain.schedule import wall_clock
from idlbot.domain.settings import AgendaSettings, PresenterSettings, ReminderRule, ReminderSettings, Team

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")


def convert(source: DataclassInstance, target: type[D], **given: Any) -> D:
    """`target` from `given` plus every field of `source` that `target` has under the
    same name: a file model's fields are copied by name, not one by one."""
    wanted = {f.name for f in fields(target)} - given.keys()
    shared = {f.name: getattr(source, f.name) for f in fields(source) if f.name in wanted}
    return target(**shared, **given)


def build(parsed: Parsed, secrets: Secrets, path: Path | None, problems: list[str]) -> Settings | None:
    """The settings, or None when anything is wrong (and `problems` says what)."""
    builder = _Builder(parsed, problems)
    builder.check_channels()
    course = builder.course()
    roles = builder.roles()
    reminders = builder.reminders()
    agenda = builder.agenda()
    summaries = builder.summaries()
    mattermost = parsed.table("mattermost", MattermostSettings)
    server = parsed.table("server", ServerSettings)
    database = parsed.table("database", DatabaseSettings)
    slurm = parsed.table("slurm", SlurmSettings)
    presenters = builder.presenters(course)
    if problems or course is None or mattermost is None or server is None or database is None:
        return None
    if roles is None or agenda is None or slurm is None or summaries is None:
        return None
    return Settings(
        course=course,
        mattermost=mattermost,
        server=server,
        database=database,
        roles=roles,
        secrets=secrets,
        path=path,
        gitlab=parsed.table("gitlab", GitLabSettings),
        reminders=reminders,
        agenda=agenda,
        slurm=slurm,
        presenters=presenters,
        blog_nudge=blog_nudge_settings(
            parsed.table("blog_nudge", BlogNudgeFile), absent="blog_nudge" in parsed.absent
        ),
        warnings=warning_settings(parsed.table("warnings", WarningsFile), absent="warnings" in parsed.absent),
        summaries=summaries,
        defaults=absent_sections(parsed.absent, rules=course.rules, agenda=agenda, database_url=database.url),
    )


def check_slurm_secret(parsed: Parsed, secrets: Secrets, problems: list[str]) -> None:
    slurm = parsed.table("slurm", SlurmSettings)
    if slurm is not None and slurm.enabled and secrets.slurm_secret is None:
        problems.append(
            f"env {SECRET_ENV['slurm_secret']}: missing ([slurm] enabled: it signs the job events "
            "that idlbot-slurm-mail sends; without it every /slurm/event is refused)"
        )


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


SUMMARY_ANNOUNCE_MAX = timedelta(days=6)


class _Builder:
    """The checks share the course zone, the channel purposes and the problem list."""

    def __init__(self, parsed: Parsed, problems: list[str]) -> None:
        self.parsed = parsed
        self.problems = problems
        self.course_file = parsed.table("course", CourseFile)
        self.tz = ZoneInfo(self.course_file.timezone if self.course_file is not None else "UTC")
        mattermost = parsed.table("mattermost", MattermostSettings)
        self.channels: Mapping[str, str] | None = mattermost.channels if mattermost is not None else None

    def check_channels(self) -> None:
        if self.channels is None:
            return  # [mattermost] failed and said why
        required = ", ".join(REQUIRED_CHANNELS)
        for purpose in REQUIRED_CHANNELS:
            if purpose not in self.channels:
                self.problems.append(f"mattermost.channels.{purpose}: missing (required: {required})")

    def course(self) -> Course | None:
        c = self.course_file
        if c is not None and c.end < c.start:
            self.problems.append(f"course.end: {c.end} is before course.start ({c.start})")
        assignments = self._assignments()
        groups = self._groups()
        lecture_free = self._lecture_free()
        teams = self._teams()
        q = self.parsed.table("questions", QuestionsFile)
        rules = self.parsed.table("qualification", RulesFile)
        if c is None or q is None or rules is None:
            return None
        return convert(
            c,
            Course,
            id=c.id or DEFAULT_COURSE_ID,
            tz=self.tz,
            questions=convert(q, WeeklyDeadline, at=q.time),
            questions_url=q.url,
            assignments=assignments,
            groups=groups,
            lecture_free=lecture_free,
            teams=teams,
            rules=convert(
                rules, Rules, presenting=self._presenting_rule(), presenting_from=self._presenting_from()
            ),
            classes=self._classes(),
        )

    def _presenting_from(self) -> date | None:
        p = self.parsed.table("presenters", PresentersFile)
        return p.start if p is not None and "presenters" not in self.parsed.absent else None

    def _presenting_rule(self) -> bool:
        p = self.parsed.table("presenters", PresentersFile)
        return p is not None and p.enabled and p.rule and "presenters" not in self.parsed.absent

    def presenters(self, course: Course | None) -> PresenterSettings:
        """On when the table is there (unless `enabled = false`); it needs [classes] and
        teams, and a proposal must come after the previous class (under 7 days before)."""
        p = self.parsed.table("presenters", PresentersFile)
        if p is None or "presenters" in self.parsed.absent:
            return PresenterSettings()
        if not timedelta(0) < p.propose_before < timedelta(days=7):
            self.problems.append(
                f"presenters.propose_before: must be more than 0 and less than 7d (got {p.propose_before})"
            )
        if p.enabled and course is not None and course.classes is None:
            self.problems.append("presenters: needs [classes] (the presenters are proposed for each class)")
        if p.start is not None and course is not None and not course.start <= p.start <= course.end:
            self.problems.append(
                f"presenters.start: {p.start} is outside the course ({course.start} to {course.end})"
            )
        return convert(p, PresenterSettings)

    def _classes(self) -> WeeklyClass | None:
        classes = self.parsed.table("classes", ClassesFile)
        if classes is None:
            return None
        if classes.end <= classes.start:
            self.problems.append(
                f"classes.end: {classes.end:%H:%M} is not after start ({classes.start:%H:%M})"
            )
        return convert(classes, WeeklyClass)

    def roles(self) -> RolesSettings | None:
        roles = self.parsed.table("roles", RolesSettings)
        if roles is None:
            return None
        group_tutors = tuple(
            t for _, g in self.parsed.entries("exercise_groups", GroupFile) for t in g.tutors
        )
        return replace(roles, tutors=unique(roles.tutors + group_tutors))

    def _assignments(self) -> tuple[Assignment, ...]:
        entries = self.parsed.entries("assignments", AssignmentFile)
        _duplicates("assignments", [(i, a.id) for i, a in entries], self.problems)
        out = []
        for i, a in entries:
            due = _localize(a.due, self.tz)
            if a.release is not None:
                release = _localize(a.release, self.tz)
            elif self.course_file is not None:
                release = wall_clock(self.course_file.start, time(0, 0), self.tz)
            else:
                release = due - timedelta(days=7)
            if due <= release:
                self.problems.append(
                    f"assignments[{i}].due: {due:%Y-%m-%d %H:%M} is not after release "
                    f"({release:%Y-%m-%d %H:%M})"
                )
            out.append(convert(a, Assignment, release=release, due=due))
        return tuple(out)

    def _groups(self) -> tuple[ExerciseGroup, ...]:
        entries = self.parsed.entries("exercise_groups", GroupFile)
        _duplicates("exercise_groups", [(i, g.id) for i, g in entries], self.problems)
        out = []
        for i, g in entries:
            where = f"exercise_groups[{i}]"
            self._check_group(where, g)
            out.append(convert(g, ExerciseGroup, channel=self._group_channel(where, g.channel)))
        return tuple(out)

    def _check_group(self, where: str, g: GroupFile) -> None:
        if g.end <= g.start:
            self.problems.append(f"{where}.end: {g.end:%H:%M} is not after start ({g.start:%H:%M})")
        if g.first_session.weekday() != g.weekday:
            self.problems.append(
                f"{where}.first_session: {g.first_session} is a {weekday_name(g.first_session.weekday())}, "
                f"but weekday is {weekday_name(g.weekday)}"
            )
        c = self.course_file
        if c is not None and not c.start <= g.first_session <= c.end:
            self.problems.append(
                f"{where}.first_session: {g.first_session} is outside the course ({c.start} to {c.end})"
            )

    def _group_channel(self, where: str, channel: str | None) -> str | None:
        """A purpose resolves to its channel name; a channel name is kept as is."""
        channels = self.channels
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

    def _lecture_free(self) -> tuple[LectureFree, ...]:
        entries = self.parsed.entries("lecture_free", LectureFreeFile)
        for i, p in entries:
            if p.end < p.start:
                self.problems.append(f"lecture_free[{i}].end: {p.end} is before start ({p.start})")
        return tuple(convert(p, LectureFree) for _, p in entries)

    def _teams(self) -> tuple[Team, ...]:
        entries = self.parsed.entries("teams", TeamFile)
        _duplicates("teams", [(i, t.id) for i, t in entries], self.problems)
        return tuple(convert(t, Team, wiki_prefix=t.wiki_prefix or f"teams/{t.id}") for _, t in entries)

    def reminders(self) -> ReminderSettings:
        rules = {}
        for kind, entry in self.parsed.tables_by_kind("reminders", ReminderFile).items():
            where = f"reminders.{kind}"
            self._check_purpose(f"{where}.channel", entry.channel)
            if kind == "exercise" and entry.at is None and not entry.offsets:
                self.problems.append(f'{where}: give `at` (e.g. "08:00") or `offsets`')
            elif kind != "exercise" and not entry.offsets:
                self.problems.append(f'{where}.offsets: give at least one, e.g. ["24h", "2h"]')
            rules[kind] = convert(entry, ReminderRule, kind=kind)
        return ReminderSettings(**rules)

    def agenda(self) -> AgendaSettings | None:
        a = self.parsed.table("agenda", AgendaFile)
        if a is None:
            return None
        self._check_purpose("agenda.channel", a.channel)
        return convert(
            a,
            AgendaSettings,
            label=None if a.all_open else a.label,
            cutoff_weekday=a.cutoff.weekday,
            cutoff_time=a.cutoff.at,
        )

    def summaries(self) -> SummarySettings | None:
        """Absent: the rota is off (it DMs students, so it starts only when asked for)."""
        if "summaries" in self.parsed.absent:
            return SummarySettings(enabled=False)
        s = self.parsed.table("summaries", SummariesFile)
        if s is None:
            return None
        self._check_purpose("summaries.channel", s.channel)
        if not timedelta(0) < s.announce_before <= SUMMARY_ANNOUNCE_MAX:
            self.problems.append(
                f"summaries.announce_before: must be a positive duration of at most "
                f"{SUMMARY_ANNOUNCE_MAX.days}d (before the class it announces, after the one before)"
            )
        prefix = s.wiki_prefix.strip().strip("/")
        if not prefix or any(c.isspace() for c in prefix):
            self.problems.append(
                "summaries.wiki_prefix: give a wiki path without spaces, e.g. "
                f'"summaries" (got {s.wiki_prefix!r})'
            )
        return convert(s, SummarySettings, wiki_prefix=prefix)

    def _check_purpose(self, where: str, purpose: str | None) -> None:
        if purpose is not None and self.channels is not None and purpose not in self.channels:
            self.problems.append(f"{where}: '{purpose}' is not a purpose in [mattermost.channels]")
