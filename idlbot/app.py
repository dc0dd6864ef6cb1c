"""Composition root: config → adapters → registry → web, and the start/stop order.
(Over 300 lines because it builds every part of the bot, in this one place on purpose.)

Start order matters for "never lose what it was told":
1. the schema must be at head (else stop with the command that fixes it);
2. rows a crash left in flight go back to pending (the worker checks them by key);
3. the web server starts, so /healthz answers even while Mattermost is unreachable, and
   the health check's database readings start (in the background, on their own engine);
4. the bot logs in, retrying with backoff: an outage at start is not a crash;
5. the reminder alarms, the outbox worker, the periodic passes and the websocket
   supervisor start; every (re)connect re-syncs DMs.
Several replicas may run on one PostgreSQL (`replica.py`): each periodic pass is a
singleton under a lease, and the outbox claims expire, so another replica takes over
what a dead one held. On SQLite `run_forever` locks the file for this one process, so
at start everything in flight and every lease is this process's to take back.
Stop runs the other way round, drains in-flight command replies, then stops the chart
worker process (after the replies: an overview being answered may still need it).

What runs periodically, and how often, is listed in `Bot._schedule_passes`, one line a
pass; when a pass is due is `scheduling/periodic.py`'s business, never this module's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web

from idlbot import gctune
from idlbot.adapters.chart import MatplotlibChart
from idlbot.adapters.mattermost.connect import log_in
from idlbot.adapters.mattermost.delivery import OutboxWorker
from idlbot.adapters.mattermost.inbound import Inbound
from idlbot.adapters.mattermost.rest import MattermostChat
from idlbot.adapters.mattermost.websocket import WebsocketSupervisor
from idlbot.adapters.slurm.cluster import SlurmCluster
from idlbot.app_course import CourseBot, Shared
from idlbot.clock import Clock, SystemClock
from idlbot.commands import build_registry
from idlbot.commands.dispatch import Dispatcher
from idlbot.config import Settings
from idlbot.metrics import Metrics
from idlbot.ports.health import HealthSnapshot
from idlbot.ports.routines import Routine
from idlbot.replica import DEFAULT_LEASE_TTL, lease_ttl, replica_id
from idlbot.routing import CourseRouter
from idlbot.scheduling.passes import job_poll
from idlbot.scheduling.periodic import Pass, Periodic
from idlbot.services.agenda import AgendaService
from idlbot.services.health import BotHealth
from idlbot.services.housekeeping import Housekeeping
from idlbot.services.jobs import JobNotifier
from idlbot.services.jobs_desk import JobsDesk
from idlbot.services.maintenance import MaintenanceService
from idlbot.services.qualification_sync import QualificationSync
from idlbot.services.reminders import ReminderRunner
from idlbot.services.rota import RotaService
from idlbot.storage.announce import SqlMaintenanceStore
from idlbot.storage.changes import changes_of
from idlbot.storage.course_choices import SqlCourseChoices
from idlbot.storage.db import create_engine, ensure_up_to_date, hurry, pool_options, sessionmaker
from idlbot.storage.deliveries import SqlDeliveryKeys
from idlbot.storage.delivery_failures import SqlDeliveryFailures
from idlbot.storage.dm_channels import SqlDmChannels
from idlbot.storage.handled import SqlCursors, SqlHandledPosts
from idlbot.storage.health import SqlDatabaseProbe, probe_engine
from idlbot.storage.jobs import SqlJobStore
from idlbot.storage.leases import SqlLeases
from idlbot.storage.ledger import SqlQualification
from idlbot.storage.outbox import SqlOutbox
from idlbot.storage.reminders import calendar_course
from idlbot.storage.roster import SqlRoster
from idlbot.storage.sqlite_lock import SqliteLock, sqlite_file
from idlbot.tasks import TaskPool
from idlbot.web.actions import ACTION_PATH, action_handler
from idlbot.web.calendar import ROUTE as CALENDAR_ROUTE
from idlbot.web.calendar import Feed, calendar_routes
from idlbot.web.gitlab import GitLabHookDeps, add_gitlab_routes
from idlbot.web.server import SlashCourse, WebDeps, build_web_app, start_server
from idlbot.web.slurm import SlurmEventDeps, add_slurm_routes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tuning:
    """Timings that tests shrink; production uses the defaults."""

    ws_backoff_base: float = 0.5
    ws_backoff_cap: float = 15.0
    ws_auth_retry: float = 60.0
    outbox_backoff_base: float = 1.0
    outbox_backoff_cap: float = 30.0
    outbox_poll: float = 1.0
    inline_budget: float = 2.0
    login_backoff_cap: float = 30.0
    housekeeping: float = 15.0  # announcements due, maintenance tick; sacct every poll_seconds
    agenda_check: float = 15.0  # a freeze missed while the bot was down happens this soon after
    warnings_check: float = 60.0  # a record that changes a forecast is warned about this soon
    pruning: float = 3600.0  # dedup records older than services.housekeeping.RETENTION
    lease_ttl: float = DEFAULT_LEASE_TTL  # a dead replica's passes and posts are taken over after this


STOP_GRACE = 0.5
"""Seconds that work in flight at a stop gets to finish before it is cancelled."""


SLOW_STEP = 1.0
"""Seconds after which a step of a stop is named in the log (`_timed`)."""


async def _timed(step: str, work: Awaitable[object]) -> None:
    """Await one step of a stop; one that took over `SLOW_STEP` is named in the log: a stop
    is meant to take well under a second, and the operator (or the benchmark) should see
    which step did not."""
    started = time.monotonic()
    try:
        await work
    finally:
        took = time.monotonic() - started
        if took > SLOW_STEP:
            log.warning("stopping: %s took %.1f s", step, took)


class Bot:
    """The deployment: one bot account, database, outbox, web server and websocket, the
    shared cluster, and one `CourseBot` per course (`app_course.py`). `settings` is the
    first course's complete settings, whose shared tables (server, database, Mattermost
    and GitLab URLs, Slurm, secrets but the slash token) are the deployment's; `courses`
    is every course's, in order (default: that one course)."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        tuning: Tuning | None = None,
        replica: str | None = None,
        courses: Sequence[Settings] = (),
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.tuning = tuning or Tuning()
        self.replica = replica or replica_id()
        self.metrics = Metrics()
        self.tasks = TaskPool()  # work that should finish at a stop: command replies, delivery
        self.loops = TaskPool()  # the login and the periodic driver, cancelled at a stop
        secrets = settings.secrets
        db = settings.database
        self.engine = create_engine(db.url, **pool_options(db.url, db.pool_size, db.max_overflow))
        self.sessions = sessions = sessionmaker(self.engine)
        self.chat = MattermostChat(
            settings.mattermost.url,
            secrets.mattermost_token or "",
            team=settings.mattermost.team,
            timeout=settings.mattermost.request_timeout,
            dm_channels=SqlDmChannels(sessions),
        )
        self.leases = SqlLeases(sessions)
        ttl = timedelta(seconds=self.tuning.lease_ttl)
        self.outbox = SqlOutbox(sessions, holder=self.replica, claim_ttl=ttl)
        self.handled = SqlHandledPosts(sessions)
        self.cursors = SqlCursors(sessions)
        self.deliveries = SqlDeliveryKeys(sessions)  # GitLab hooks handled, for both hook paths
        self.housekeeping = Housekeeping(handled_posts=self.handled, delivery_keys=self.deliveries)
        # /healthz reads the database on its own engine, so busy commands cannot starve it
        self.probe_engine = probe_engine(settings.database.url)
        self.health = BotHealth(
            database=SqlDatabaseProbe(self.probe_engine),
            outbox=SqlDeliveryFailures(sessionmaker(self.probe_engine)),
            started_at=self.clock.now(),
            replica=self.replica,
        )
        self.registry = build_registry(observer=self.metrics.observe_command)
        self.chart = MatplotlibChart()  # its worker process starts with the first overview
        self.periodic = Periodic(
            self.clock, leases=self.leases, replica=self.replica, lease_ttl=self.tuning.lease_ttl
        )
        every_course = tuple(courses) or (settings,)
        self.router: CourseRouter | None = None
        if len(every_course) > 1:
            self.router = CourseRouter(
                self.registry,
                SqlCourseChoices(sessions),
                lookup_user=self.chat.user,
                team_of_channel=self.chat.channel_team,
                clock=self.clock,
            )
        shared = Shared(
            sessions=sessions,
            chat=self.chat,
            outbox=self.outbox,
            deliveries=self.deliveries,
            clock=self.clock,
            registry=self.registry,
            health=self.health,
            chart=self.chart,
            wake=self._wake_outbox,
            gitlab_hook_url=self._gitlab_hook_url,
            choices=self.router,
        )
        solo = len(every_course) == 1
        self.courses = [CourseBot(course, shared, solo=solo) for course in every_course]
        if self.router is not None:
            self.router.units = self.courses
        first = self.courses[0]
        self.maintenance: MaintenanceService | None = None
        self.notifier: JobNotifier | None = None
        jobs_desk: JobsDesk | None = None
        if settings.slurm.enabled:  # the cluster is the deployment's, shared by its courses
            cluster = SlurmCluster(settings.slurm)
            maintenance_store = SqlMaintenanceStore(sessions)
            self.maintenance = MaintenanceService(
                cluster,
                maintenance_store,
                self.outbox,
                first.channel_id,
                self._user_for_cluster,
                channel=settings.mattermost.channels["cluster"],
                tz=settings.course.tz,
                cluster_name=settings.slurm.cluster,
                more_channels=[
                    (c.id, c.channel_id, c.settings.mattermost.channels["cluster"]) for c in self.courses[1:]
                ],
            )
            job_store = SqlJobStore(sessions)
            self.notifier = JobNotifier(
                cluster=cluster,
                cluster_name=settings.slurm.cluster,
                store=job_store,
                outbox=self.outbox,
                resolve=self._user_for_cluster,
                clock=self.clock,
                tz=settings.course.tz,
                full_every=settings.slurm.poll_seconds,
                label=None if solo else self._courses_of_cluster_user,
            )
            jobs_desk = JobsDesk(
                cluster=cluster,
                store=job_store,
                cluster_user=_first_found([c.directory.cluster_account for c in self.courses]),
                windows=maintenance_store,
                reservations=cluster.reservations,
            )
        for course in self.courses:
            course.build_dispatcher(self.maintenance, jobs_desk)
        self.worker = OutboxWorker(
            self.outbox,
            self.chat,
            self.clock,
            self.metrics,
            backoff_base=self.tuning.outbox_backoff_base,
            backoff_cap=self.tuning.outbox_backoff_cap,
            poll=self.tuning.outbox_poll,
        )
        self.inbound: Inbound | None = None
        self.websocket: WebsocketSupervisor | None = None
        self._http: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.ready = asyncio.Event()
        self.port: int | None = None
        self._schedule_passes()
        self.health.leases, self.health.passes = self.periodic.held, self.periodic.singletons

    # the first course's parts, by their old names (one-course callers and tests use them)
    @property
    def dispatcher(self) -> Dispatcher:
        return self.courses[0].dispatcher

    @property
    def qualification(self) -> SqlQualification:
        return self.courses[0].qualification

    @property
    def roster(self) -> SqlRoster:
        return self.courses[0].roster

    @property
    def rota(self) -> RotaService | None:
        return self.courses[0].rota

    @property
    def reminder_runner(self) -> ReminderRunner:
        return self.courses[0].reminder_runner

    @property
    def agenda(self) -> AgendaService | None:
        return self.courses[0].agenda

    @property
    def sync(self) -> QualificationSync | None:
        return self.courses[0].sync

    @property
    def routines(self) -> dict[str, Routine]:
        return self.courses[0].routines

    async def _user_for_cluster(self, cluster_user: str) -> str | None:
        """A cluster account's Mattermost id, from the first course whose roster has it."""
        for course in self.courses:
            found = await course.directory.user_for_cluster(cluster_user)
            if found is not None:
                return found
        return None

    async def _courses_of_cluster_user(self, cluster_user: str) -> list[str]:
        """The names of the courses whose roster has this cluster account (job DMs name
        them when there are several: the cluster is shared)."""
        return [c.name for c in self.courses if await c.roster.by_cluster(cluster_user) is not None]

    def _schedule_passes(self) -> None:
        """Every periodic pass, one line each: its name (in its log lines), how often in
        seconds, the work. Each is safe to repeat, and each runs at start too, to catch up
        on what happened while the bot was down (a lost webhook, a missed agenda cutoff).
        Each is a singleton: with several replicas, only the one holding the lease named
        after the pass runs it (two would double the GitLab and Slurm load for nothing).
        Each course's own passes carry its id in their name (`CourseBot.schedule_passes`)."""
        housekeeping, cfg = self.tuning.housekeeping, self.settings

        def every(name: str, seconds: float, work: Pass) -> None:
            self.periodic.every(name, seconds, work, singleton=True)

        tuning = self.tuning
        for course in self.courses:
            course.notice_passes(
                self.periodic, housekeeping=housekeeping, warnings_check=tuning.warnings_check
            )
        every("pruning", tuning.pruning, self.housekeeping.prune)
        if self.maintenance is not None:
            every("maintenance", housekeeping, self.maintenance.tick)
        if self.notifier is not None:
            # ticks every few seconds; sacct runs when a job ended, and fully every poll_seconds
            every("job poll", self.notifier.tick_seconds, job_poll(self.notifier, cfg.slurm.spool_dir))
        for course in self.courses:
            course.gitlab_passes(self.periodic, agenda_check=tuning.agenda_check)

    def _gitlab_hook_url(self) -> str:
        """Where GitLab sends hooks: `public_url`, with the port bound if it names port 0."""
        url = urlsplit(self.settings.server.public_url.rstrip("/"))
        if url.port == 0 and self.port:
            url = url._replace(netloc=f"{url.hostname}:{self.port}")
        return urlunsplit(url) + "/gitlab/webhook"

    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        return self._http

    async def start(self) -> None:
        await ensure_up_to_date(self.engine)
        if self.engine.dialect.name == "sqlite":  # one process per file: all in flight is ours
            recovered = await self.outbox.recover_inflight(self.clock.now())
            await self.leases.clear()
        else:  # other replicas may be sending: only what nobody holds any more
            recovered = await self.outbox.recover_inflight(self.clock.now(), only_expired=True)
        if recovered:
            log.warning("%d posts were in flight at the last stop; checking them before resending", recovered)
        await self._start_web()
        log.info(
            "replica %s serving on port %s (lease TTL %.1f s)", self.replica, self.port, self.tuning.lease_ttl
        )
        self.loops.spawn(self.health.run(), origin="health readings")
        # status and deadlines answer from copies while this sees other processes' writes
        self.loops.spawn(changes_of(self.engine).watch(self.engine), origin="ledger version watch")
        self.loops.spawn(self._connect(), origin="mattermost login")
        self.metrics.gc.install()  # pauses from here on: start-up's own are not under load

    async def _start_web(self) -> None:
        deps = WebDeps(
            dispatcher=self.dispatcher,
            slash_token=self.settings.secrets.slash_token or "",
            courses=[
                SlashCourse(c.settings.secrets.slash_token or "", c.dispatcher, _team_id(c.chat))
                for c in self.courses
            ]
            if len(self.courses) > 1
            else (),
            tasks=self.tasks,
            health=self.health,
            metrics=self.metrics,
            http=self.http,
            inline_budget=self.tuning.inline_budget,
            on_scrape=self._on_scrape,
        )
        app = build_web_app(deps)
        secret = self.settings.secrets.gitlab_webhook_secret or ""
        if self.settings.gitlab is not None and not secret:
            log.warning(
                "IDLBOT_GITLAB_WEBHOOK_SECRET is not set: every GitLab webhook is refused (401); "
                "the ledger is only updated by reconciliation"
            )
        add_gitlab_routes(
            app,
            *(
                GitLabHookDeps(
                    secret=secret,
                    sync=c.sync,
                    clock=self.clock,
                    on_question=c.agenda.on_question if c.agenda is not None else None,
                    project=c.settings.gitlab.project if c.settings.gitlab is not None else None,
                    group=c.settings.gitlab.assignments_group if c.settings.gitlab is not None else None,
                )
                for c in self.courses
            ),
        )
        buttons = action_handler(*(c.announcements for c in self.courses), clock=self.clock)
        app.router.add_post(ACTION_PATH, buttons)
        if self.notifier is not None:
            slurm_secret = (self.settings.secrets.slurm_secret or "").encode()
            if not slurm_secret:
                log.warning("IDLBOT_SLURM_SECRET is not set: every /slurm/event is refused (401)")
            add_slurm_routes(app, SlurmEventDeps(secret=slurm_secret, notifier=self.notifier))
        feeds = [Feed(c.reminder_store, c.settings.course, c.directory.group_of) for c in self.courses]
        course_of = partial(calendar_course, self.sessions)
        app.router.add_get(CALENDAR_ROUTE, calendar_routes(feeds, self.clock, course_of=course_of))
        server = self.settings.server
        self._runner, self.port = await start_server(
            app, server.host, server.port, shutdown_timeout=STOP_GRACE
        )

    async def _on_scrape(self, snap: HealthSnapshot) -> None:
        for name in self.periodic.singletons:
            held = self.metrics.lease_held.labels(name=name, replica=self.replica)
            held.set(1 if name in snap.leases else 0)
        self.metrics.outbox_backlog.set(snap.outbox_backlog)
        self.metrics.ws_connected.set(1 if snap.websocket_connected else 0)

    async def _connect(self) -> None:
        me = await log_in(
            self.chat, backoff_cap=self.tuning.login_backoff_cap, auth_retry=self.tuning.ws_auth_retry
        )
        log.info("logged in to Mattermost as @%s", me.username)
        self.inbound = Inbound(
            bot_user_id=self.chat.bot_user_id,
            bot_username=self.chat.bot_username,
            dispatcher=self.router or self.dispatcher,
            outbox=self.outbox,
            handled=self.handled,
            cursors=self.cursors,
            tasks=self.tasks,
            clock=self.clock,
            list_channels=self.chat.member_channels,
            posts_since=self.chat.posts_since,
            wake_outbox=self.worker.wake,
            resync_window=self.settings.mattermost.resync_window,
        )
        self.websocket = WebsocketSupervisor(
            self.settings.mattermost.url,
            self.chat.token,
            on_event=self.inbound.on_event,
            on_connected=self._on_connected,
            auth_ok=self.chat.token_valid,
            ping_interval=self.settings.mattermost.ping_interval,
            backoff_base=self.tuning.ws_backoff_base,
            backoff_cap=self.tuning.ws_backoff_cap,
            auth_retry=self.tuning.ws_auth_retry,
            on_reconnect=self.metrics.ws_reconnects.inc,
        )
        self.health.websocket = self.websocket
        # after login: reminders resolve channel names; a catch-up decides what was missed
        for course in self.courses:
            await course.reminder_scheduler.start()
        self.tasks.spawn(self.worker.run(), origin="outbox worker")
        self.loops.spawn(self.periodic.run(), origin="periodic passes")
        self.tasks.spawn(self.websocket.run(), origin="websocket")
        self.ready.set()

    async def _on_connected(self) -> None:
        """The server is back: deliver what waited, then fetch what we missed."""
        if self.inbound is not None:
            self.inbound.open_gap()  # before any await: no event of this connection is handled yet
        await self.outbox.reschedule_now(self.clock.now())
        self.worker.wake()
        if self.inbound is not None:
            await self.inbound.resync()

    def _wake_outbox(self) -> None:
        self.worker.wake()

    async def stop(self) -> None:
        """Stop within about a second, whatever is running (it used to take 3.3 s, waiting on GitLab threads).

        Work in flight gets `STOP_GRACE` to finish, then is cancelled: a periodic pass, a
        command reply, a delivery. Nothing durable is lost by the cancel: a delivery cut off
        is "in flight" in the outbox and checked by key at the next start, and every pass is
        repeated at start. GitLab calls in flight are abandoned (their threads are daemons)."""
        hurry(self.engine)  # the stop's own writes do not wait out another process's lock
        for course in self.courses:
            await _timed("reminder scheduler", course.reminder_scheduler.stop())
        if self.websocket is not None:
            # a server that never answers the close frame would hold this for aiohttp's 10 s
            with contextlib.suppress(TimeoutError):
                await _timed("websocket", asyncio.wait_for(self.websocket.stop(), STOP_GRACE))
        await self.worker.stop()  # the current pass finishes: its posts are claimed
        if self.inbound is not None:
            await _timed("inbound", self.inbound.stop())
        await _timed(
            "passes, loops, replies and web server",
            asyncio.gather(
                self.periodic.stop(grace=STOP_GRACE),
                self.loops.stop(),
                self.tasks.drain(timeout=STOP_GRACE),
                self._stop_web(),
            ),
        )
        if self.inbound is not None:  # after the replies: they move cursors to the end
            await _timed("re-sync cursors", self.inbound.close())
        await _timed("releasing claims", self._release_claims())
        await _timed("chart renderer", self.chart.close())  # after the replies, which may have needed it
        if self._http is not None:
            await self._http.close()
        await _timed("Mattermost client", self.chat.close())
        if self.notifier is not None:
            await _timed("job notifier", self.notifier.stop())
        for course in self.courses:
            await _timed(f"course {course.id}", course.close())
        await _timed("database", self.engine.dispose())
        await _timed("health probe", self.probe_engine.dispose())
        self.metrics.gc.uninstall()

    async def _release_claims(self) -> None:
        """Posts still claimed once the worker ended go back to pending for whoever sends
        next (another replica, or the next start), looked up by key first; a database
        that is gone leaves them to expire instead."""
        try:
            released = await asyncio.wait_for(self.outbox.release_claims(self.clock.now()), STOP_GRACE * 4)
        except Exception as exc:  # noqa: BLE001 - the claims expire by themselves
            log.warning("could not release the posts in flight (%s); they expire", type(exc).__name__)
            return
        if released:
            log.info("%d posts in flight at the stop are left to be checked and sent", released)

    async def _stop_web(self) -> None:
        """No new requests from now; requests in flight get `STOP_GRACE` to answer."""
        if self._runner is not None:
            await self._runner.cleanup()


def _team_id(chat: MattermostChat) -> Callable[[], str]:
    return lambda: chat.team_id


K = TypeVar("K")
R = TypeVar("R")


def _first_found(lookups: Sequence[Callable[[K], Awaitable[R | None]]]) -> Callable[[K], Awaitable[R | None]]:
    """One lookup over every course's: the first answer that is not None (a reminder id,
    an announcement id, a student's account is in one course's rows)."""
    if len(lookups) == 1:
        return lookups[0]

    async def lookup(key: K) -> R | None:
        for one in lookups:
            found = await one(key)
            if found is not None:
                return found
        return None

    return lookup


async def run_forever(
    settings: Settings, clock: Clock | None = None, *, courses: Sequence[Settings] = ()
) -> None:
    """Serve until SIGINT/SIGTERM. `courses`: every course of a deployment of several
    (`settings` is the first), as `Bot` takes them."""
    ttl = lease_ttl()
    database = sqlite_file(settings.database.url)
    lock = SqliteLock(database) if database is not None else None
    if lock is not None:
        lock.acquire()  # before anything touches the file: a second process stops here
    try:
        bot = Bot(settings, clock=clock, tuning=Tuning(lease_ttl=ttl), courses=courses)
        gctune.tune_after_start()  # built: from here on it may wait (a database down at start)
        await bot.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        try:
            await stop.wait()
        finally:
            await bot.stop()
    finally:
        if lock is not None:
            lock.release()
