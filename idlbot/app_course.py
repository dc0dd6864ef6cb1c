"""The composition root's part for one course: its stores, services, passes and dispatcher.

A deployment serves one or more courses on one bot account, one database and one outbox
(`app.Bot`). Everything that belongs to a course is built here, once per course: its
repositories are bound to the course's id (the `course` column, `storage/courses.py`),
its channels resolve in its own team, its roles and rules are its own. The shared cluster
(job DMs, maintenance) and the transport (outbox worker, websocket, web server) are the
deployment's, in `app.py`.

With one course, nothing is named after the course (pass names, keys): a one-course
deployment behaves, and stores, exactly as before courses had ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from idlbot.adapters.chart import MatplotlibChart
from idlbot.adapters.gitlab.client import GitLabClient
from idlbot.adapters.mattermost.connect import channel_id_or_none, check_channel
from idlbot.adapters.mattermost.rest import MattermostChat
from idlbot.app_routines import other_routines, summary_rota
from idlbot.clock import Clock
from idlbot.commands.context import Ports
from idlbot.commands.dispatch import Dispatcher
from idlbot.commands.registry import Registry
from idlbot.config import Settings
from idlbot.ports.channels import ChannelCheck
from idlbot.ports.course_choice import CourseChoices
from idlbot.ports.health import Health
from idlbot.ports.routines import Routine
from idlbot.scheduling.aps import ApsReminderScheduler
from idlbot.scheduling.passes import reconcile_gitlab, untimed
from idlbot.scheduling.periodic import Pass, Periodic
from idlbot.services.agenda import AgendaService
from idlbot.services.announcements import AnnouncementService
from idlbot.services.early_warnings import EarlyWarnings
from idlbot.services.exclusion import ExclusionNotifier
from idlbot.services.failure_notices import FailureNotices
from idlbot.services.jobs_desk import JobsDesk
from idlbot.services.maintenance import MaintenanceService
from idlbot.services.qualification import QualificationService
from idlbot.services.qualification_sync import QualificationSync
from idlbot.services.reminder_firing import FireDeps
from idlbot.services.reminders import ReminderRunner, ReminderService
from idlbot.services.repo_hooks import RepoHooks
from idlbot.services.roster_directory import RosterDirectory
from idlbot.storage.agenda import SqlAgendaStore
from idlbot.storage.announce import SqlAnnouncementStore
from idlbot.storage.course_outbox import CourseOutbox, course_prefix
from idlbot.storage.deliveries import SqlDeliveryKeys
from idlbot.storage.delivery_failures import SqlDeliveryFailures
from idlbot.storage.exclusion import SqlExclusions
from idlbot.storage.ledger import SqlQualification
from idlbot.storage.outbox import SqlOutbox
from idlbot.storage.presenters import SqlPresenters
from idlbot.storage.reminders import SqlReminderStore
from idlbot.storage.roster import SqlRoster
from idlbot.storage.warnings import SqlWarnings


@dataclass(frozen=True)
class Shared:
    """What every course of the deployment uses."""

    sessions: async_sessionmaker[AsyncSession]
    chat: MattermostChat  # the bot account; each course gets its team's view of it
    outbox: SqlOutbox
    deliveries: SqlDeliveryKeys  # GitLab deliveries handled, for both hook paths
    clock: Clock
    registry: Registry
    health: Health
    chart: MatplotlibChart
    wake: Callable[[], None]  # the outbox worker
    gitlab_hook_url: Callable[[], str]
    choices: CourseChoices | None = None  # `/idl use`; None in a one-course deployment


class CourseBot:
    """One course: built from its own complete `Settings` (the deployment's shared tables
    merged in), on the shared parts. `solo` is a one-course deployment."""

    def __init__(self, settings: Settings, shared: Shared, *, solo: bool) -> None:
        self.settings = settings
        self.id = settings.course.id
        self.name = settings.course.name
        self.solo = solo
        clock, sessions, wake = shared.clock, shared.sessions, shared.wake
        course = settings.course
        # the deployment's outbox, with this course's keys apart from the others' (solo: as is)
        self.outbox: SqlOutbox | CourseOutbox = (
            shared.outbox if solo else CourseOutbox(shared.outbox, self.id)
        )
        outbox = self.outbox
        prefix = "" if solo else course_prefix(self.id)
        self.chat = shared.chat.in_team(settings.mattermost.team)
        self.qualification = SqlQualification(sessions, course)
        self.roster = SqlRoster(sessions, course=self.id)
        self.rota, summaries = summary_rota(
            settings,
            sessions,
            outbox,
            students=self.roster.all,
            people=self.chat,
            channel_id=self.channel_id,
            wake=wake,
        )
        self.routines: dict[str, Routine] = {summaries.name: summaries} if summaries is not None else {}
        self.gitlab: GitLabClient | None = None
        self.sync: QualificationSync | None = None
        self.repo_hooks: RepoHooks | None = None
        self.agenda: AgendaService | None = None
        secrets = settings.secrets
        if settings.gitlab is not None:
            self.gitlab = GitLabClient(settings.gitlab, secrets.gitlab_token or "")
            self.sync = QualificationSync(
                self.gitlab,
                self.qualification,
                self.roster,
                course,
                settings.gitlab,
                clock,
                deliveries=shared.deliveries,
                on_wiki=self.rota.on_wiki if self.rota is not None else None,
            )
            if settings.gitlab.repository_hooks and secrets.gitlab_webhook_secret:
                self.repo_hooks = RepoHooks(
                    self.gitlab,
                    shared.gitlab_hook_url,
                    secrets.gitlab_webhook_secret,
                    course_project=settings.gitlab.project,
                    workers=settings.gitlab.max_workers,
                )
            self.agenda = AgendaService(
                gitlab=self.gitlab,
                store=SqlAgendaStore(sessions, course=self.id),
                deliveries=shared.deliveries,
                outbox=outbox,
                editor=self.chat,
                channel_id=self._agenda_channel,
                course=course,
                settings=settings.agenda,
                clock=clock,
                wake=wake,
            )
        self.directory = RosterDirectory(self.roster, self.qualification, self.chat, clock)
        self.reminder_store = SqlReminderStore(sessions, course=self.id, outbox_prefix=prefix)
        self.presenters = SqlPresenters(sessions, course=self.id)
        self.warnings = EarlyWarnings(
            SqlWarnings(sessions, course=self.id),
            self.qualification.fresh,
            outbox,
            self.chat,
            course,
            settings.roles.instructors,
            wake=wake,
        )
        found = other_routines(
            settings,
            presenters=self.presenters,
            outbox=outbox,
            directory=self.directory,
            ledgers=self.qualification.fresh,
            mutes=self.reminder_store,
            warnings=self.warnings,
            people=self.chat,
        )
        self.routines |= {routine.name: routine for routine in found}
        self.reminder_runner = ReminderRunner(
            FireDeps(
                store=self.reminder_store,
                outbox=outbox,
                channels=settings.mattermost.channels,
                channel_id=self.channel_id,
                roster=self.directory,
                questions_count=self.agenda.count if self.agenda is not None else None,
                wake=wake,
                routines=self.routines,
            ),
            course,
            settings.reminders,
        )
        self.reminder_scheduler = ApsReminderScheduler(self.reminder_runner, clock)
        self.reminders = ReminderService(
            self.reminder_store,
            self.reminder_runner,
            calendar_base_url=settings.server.public_url,
            on_change=self.reminder_scheduler.replan,
            check_channel=self.check_channel,
        )
        self.announcement_store = SqlAnnouncementStore(sessions, course=self.id)
        self.announcements = AnnouncementService(
            self.announcement_store,
            outbox,
            self.channel_id,
            # stable across restarts (pending buttons keep working) and secret like the token
            secret=hashlib.sha256(b"idlbot-action:" + (secrets.slash_token or "").encode()).digest(),
            public_url=settings.server.public_url,
            channels=settings.mattermost.channels,
            check_channel=self.check_channel,
        )
        self.exclusions = ExclusionNotifier(
            SqlExclusions(sessions, course=self.id), outbox, self.chat, settings.roles.instructors, wake=wake
        )
        self.failure_notices = FailureNotices(
            SqlDeliveryFailures(sessions),
            shared.outbox,  # a notice's key is the failed post's key as stored
            reminder=self.reminder_store.custom,
            announcement=self.announcement_store.announcement,
            channel_name=self.reminders.channel_name,
            tz=course.tz,
            wake=wake,
            key_prefix=prefix,
        )
        self.shared = shared
        self.dispatcher: Dispatcher = self.build_dispatcher(None, None)

    def build_dispatcher(self, maintenance: MaintenanceService | None, jobs: JobsDesk | None) -> Dispatcher:
        """The course's command dispatcher: its roles, its course, its ports. The cluster's
        services are the deployment's and come in once built (`app.Bot`)."""
        s, shared = self.settings, self.shared
        ports = Ports(
            health=shared.health,
            outbox=self.outbox,
            qualification=QualificationService(self.qualification, s.course),
            reminders=self.reminders,
            people=self.chat,
            agenda=self.agenda,
            announcements=self.announcements,
            maintenance=maintenance,
            jobs=jobs,
            chart=shared.chart,
            exclusions=self.exclusions,
            presenters=self.presenters,
            rota=self.rota,
            courses=shared.choices,
        )
        self.dispatcher = Dispatcher(
            shared.registry,
            lookup_user=self.chat.user,
            course=s.course,
            instructors=s.roles.instructors,
            tutors=s.roles.tutors,
            clock=shared.clock,
            ports=ports,
        )
        return self.dispatcher

    def pass_name(self, name: str) -> str:
        """A periodic pass's name (and lease): the course's id after it, unless solo."""
        return name if self.solo else f"{name} [{self.id}]"

    def notice_passes(self, periodic: Periodic, *, housekeeping: float, warnings_check: float) -> None:
        """The course's passes that post what is due or was left by a crash."""
        every = self._every(periodic)
        every("announcements", housekeeping, self.announcements.due)
        every("failure notices", housekeeping, self.failure_notices.run)
        every("exclusion notices", housekeeping, self.exclusions.announce)  # left by a crash
        if self.settings.warnings.warn_students:  # staff records, overrides, late hand-ins
            every("qualification warnings", warnings_check, self.warnings.check)

    def gitlab_passes(self, periodic: Periodic, *, agenda_check: float) -> None:
        """The course's passes over its GitLab project: hand-ins, wiki, the agenda."""
        cfg, every = self.settings, self._every(periodic)
        if self.sync is not None and cfg.gitlab is not None:
            reconcile = reconcile_gitlab(self.sync, self.repo_hooks)
            every("gitlab reconciliation", cfg.gitlab.reconcile_minutes * 60, reconcile)
        if self.agenda is not None:
            every("agenda reconciliation", cfg.agenda.reconcile_minutes * 60, untimed(self.agenda.reconcile))
            every("agenda freeze", agenda_check, self.agenda.freeze_due)

    def _every(self, periodic: Periodic) -> Callable[[str, float, Pass], None]:
        def every(name: str, seconds: float, work: Pass) -> None:
            periodic.every(self.pass_name(name), seconds, work, singleton=True)

        return every

    async def is_member(self, username: str) -> bool:
        """Whether `username` belongs to this course: on its staff, or an active student."""
        roles = self.settings.roles
        if username in roles.instructors or username in roles.tutors:
            return True
        student = await self.roster.by_mattermost(username)
        return student is not None and student.active

    async def channel_id(self, name: str) -> str | None:
        return await channel_id_or_none(self.chat, name)

    async def check_channel(self, name: str) -> ChannelCheck:
        return await check_channel(self.chat, name)

    async def _agenda_channel(self) -> str | None:
        name = self.settings.mattermost.channels.get(self.settings.agenda.channel)
        return await self.channel_id(name) if name else None

    async def close(self) -> None:
        await self.chat.close()  # a team view: the account's connection is closed by its owner
        if self.agenda is not None:
            await self.agenda.close()
        if self.gitlab is not None:
            await self.gitlab.close()
