"""GPU job notifications: a DM to the job's owner when a Slurm job ends.
(Over 300 lines: the push path and the poll path share the once-only notice logic.)

Two paths feed one idempotent store, so a job is told once whichever path sees it first:

* push: the MailProg (`idlbot-slurm-mail`) POSTs a signed event for jobs mailed about
  (`--mail-type=END,FAIL`); the route stores it (`accept`) and this service enriches it from
  sacct and DMs within seconds. sacct may lag the mail by a second (slurmdbd is written
  asynchronously), so enrichment retries briefly; an event still not enrichable stays
  pending and `reconcile` retries it later.
* poll: `reconcile` reads `sacct` for jobs that ended since the stored cursor, for students
  who opted in to all jobs (`/idl notify jobs all`), so jobs that ended while the bot was
  down are reported after a restart. It also re-runs stored events that were cut short,
  and `ingest_spool` reads MailProg's spool when the bot runs where it is written. Between
  full polls, `poll` watches squeue and reads sacct as soon as a job ends (`job_watch`).

The outcome is decided by the job's *state* from sacct (domain.jobs.outcome); the exit code
is detail only, because Slurm's sources disagree on it. The store's and the outbox's keys are
(cluster, job id, submit time): ids restart when a cluster's state is wiped. An array is one
DM with counts per state, keyed on the array job, sent once every task has ended; Slurm's own
END mail for an array comes once, when the last task ends, with the array job id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from idlbot.clock import Clock
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import Unavailable
from idlbot.domain.job_events import InvalidJobEvent, JobEvent, parse_job_event
from idlbot.domain.job_render import render_array, render_job
from idlbot.domain.jobs import (
    ArraySummary,
    ClusterError,
    JobKey,
    JobRecord,
    NoticeKind,
    NoticeSource,
    group_arrays,
    summarize_array,
)
from idlbot.ports.job_store import JobStore
from idlbot.ports.jobs import DEFAULT_MODE
from idlbot.ports.outbox import Outbox
from idlbot.services.job_watch import EndWatch, array_in_queue
from idlbot.tasks import TaskPool

log = logging.getLogger(__name__)

Resolve = Callable[[str], Awaitable[str | None]]
"""Cluster username -> Mattermost user id, or None (not in the roster, no account)."""

Sleep = Callable[[float], Awaitable[None]]


class JobSource(Protocol):
    """The slice of `adapters.slurm.SlurmCluster` the notifier uses (fakes in tests)."""

    async def job_group(self, job_id: int) -> list[JobRecord]: ...

    async def jobs_ended_since(self, when: datetime) -> list[JobRecord]: ...

    async def running_and_pending(self) -> list[JobRecord]: ...

    async def queued(self, job_id: str | None = None) -> list[JobRecord]: ...


def outbox_key(key: JobKey) -> str:
    """`job:<cluster>:<job id>:<submit epoch>`; an array uses its array job id."""
    return f"job:{key.cluster}:{key.job_id}:{int(key.submit.timestamp())}"


def _ready(records: Sequence[JobRecord]) -> bool:
    """Every record ended and is fully written (a job that ended within a second of its
    submission briefly shows without a partition on 22.05)."""
    return bool(records) and all(r.finished and r.partition for r in records)


def _latest_group(records: Sequence[JobRecord], job_id: int) -> list[JobRecord]:
    """The records of `job_id` as a job or as an array, from `job_group` output."""
    return [r for r in records if r.job_id == job_id or r.array_job_id == job_id]


class JobNotifier:
    """Turns ended Slurm jobs into one outbox DM each (one per array)."""

    def __init__(
        self,
        *,
        cluster: JobSource,
        cluster_name: str,
        store: JobStore,
        outbox: Outbox,
        resolve: Resolve,
        clock: Clock,
        tz: ZoneInfo,
        enrich_wait: float = 8.0,
        array_wait: float = 60.0,
        array_settle: timedelta = timedelta(seconds=30),
        retry_every: float = 0.5,
        poll_margin: timedelta = timedelta(minutes=5),
        first_lookback: timedelta = timedelta(hours=1),
        max_event_attempts: int = 20,
        full_every: float = 60.0,
        fast_every: float = 2.0,
        idle_every: float = 6.0,
        sleep: Sleep = asyncio.sleep,
        label: Callable[[str], Awaitable[list[str]]] | None = None,
    ) -> None:
        """`label` (a deployment of several courses): the names of the courses a cluster
        account's owner is in; the cluster is shared, so a DM names them when there are
        several (a job does not say which course it was for)."""
        self._cluster = cluster
        self._name = cluster_name
        self._label = label
        self._store = store
        self._outbox = outbox
        self._resolve = resolve
        self._clock = clock
        self._tz = tz
        self._enrich_wait = enrich_wait
        self._array_wait = array_wait
        self._array_settle = array_settle
        self._retry_every = retry_every
        self._margin = poll_margin
        self._first_lookback = first_lookback
        self._max_attempts = max_event_attempts
        self._sleep = sleep
        self._tasks = TaskPool()  # events in flight, keyed by event id
        self._reconciling = asyncio.Lock()
        self._full_every = timedelta(seconds=full_every)
        self._watch = EndWatch(fast=fast_every, idle=idle_every, horizon=poll_margin)
        self._next_full: datetime | None = None
        self._next_tick: datetime | None = None

    @property
    def tick_seconds(self) -> float:
        """How often `poll` should be called; most calls return at once (see `poll`)."""
        return self._watch.fast

    # ------------------------------------------------------------------ push path
    async def accept(self, event: JobEvent) -> bool:
        """Store a verified event (the route answers 2xx only after this returned) and start
        processing it in the background. False for a resend of an event already stored."""
        cluster = (event.cluster or self._name)[:64]
        new = await self._store.record_event(
            event_id=event.id,
            cluster=cluster,
            job_id=event.job_id,
            payload=dict(event.payload),
            now=self._clock.now(),
        )
        if new:
            run = self._run_event(event, attempts=0)
            self._tasks.spawn(run, origin=f"slurm event {event.id}", key=event.id)
        return new

    async def idle(self) -> None:
        """Wait for the events in flight (tests; a clean shutdown)."""
        await self._tasks.idle()

    async def stop(self) -> None:
        """Cancel events in flight: they stay pending in the store, `reconcile` redoes them."""
        await self._tasks.stop()

    async def _run_event(self, event: JobEvent, *, attempts: int, patient: bool = True) -> bool:
        """Handle one stored event; closed when told (or when it can never be told).
        `patient` retries while sacct lags; reconcile's retries are one look each, so one
        stuck event cannot hold up the poll."""
        done = False
        try:
            done = await self._handle_job(event.job_id, tasks=event.array_task_count, patient=patient)
        except ClusterError as err:
            log.warning("slurm event %s: sacct failed: %s", event.id, err)
        if not done and attempts + 1 >= self._max_attempts:
            log.warning(
                "slurm event %s for job %s given up after %d attempts", event.id, event.job_id, attempts + 1
            )
            done = True
        await self._store.event_attempted(event.id, done=done, now=self._clock.now())
        return done

    async def _handle_job(self, job_id: int, *, tasks: int | None, patient: bool = True) -> bool:
        """Enrich from sacct (retrying while it lags) and notify. False: not all ended yet,
        or (arrays) sacct does not know all `tasks` tasks yet; the event stays pending."""
        # Counted tries, not a deadline on the loop's clock: tests pass a sleep that returns
        # at once, and the bound must not depend on how long sacct itself takes.
        wait = self._enrich_wait if tasks is None else self._array_wait
        tries = max(1, math.ceil(wait / self._retry_every) + 1) if patient else 1
        for attempt in range(tries):
            if attempt:
                await self._sleep(self._retry_every)
            group = _latest_group(await self._cluster.job_group(job_id), job_id)
            complete = bool(group) and (tasks is None or summarize_array(group).task_count >= tasks)
            if _ready(group) and complete:
                await self._notify(group, source="mail")
                return True
        return False

    async def _notify(self, records: Sequence[JobRecord], *, source: NoticeSource) -> bool:
        """One DM for a plain job or a whole array; True if this call queued it."""
        item: JobRecord | ArraySummary
        item = summarize_array(records) if any(r.array_job_id is not None for r in records) else records[0]
        key = item.key
        if await self._store.notified(key):
            return False
        user = item.user
        mode = await self._store.mode(user) or DEFAULT_MODE
        user_id = None if mode == "off" else await self._resolve(user)
        kind: NoticeKind = "array" if isinstance(item, ArraySummary) else "job"
        state = item.outcome.name
        now = self._clock.now()
        okey = outbox_key(key) if user_id is not None else None
        if user_id is not None and okey is not None:
            text = (
                render_array(item, self._tz) if isinstance(item, ArraySummary) else render_job(item, self._tz)
            )
            text = await self._named(user, text)
            # The outbox key is unique: enqueue first, so a crash before the notice row
            # is written leads to a harmless second enqueue, never to a lost DM.
            await self._outbox.enqueue(key=okey, message=text, now=now, dm_user_id=user_id)
        else:
            log.info("job %s of %s ended: not told (mode %s, no Mattermost user)", key.job_id, user, mode)
        new = await self._store.mark_notified(
            key, kind=kind, cluster_user=user, user_id=user_id, state=state, source=source,
            outbox_key=okey, now=now,
        )  # fmt: skip
        log.info("job %s %s of %s: %s via %s", kind, key.job_id, user, state, source)
        return new and user_id is not None

    async def _named(self, cluster_user: str, text: str) -> str:
        courses = await self._label(cluster_user) if self._label is not None else []
        if len(courses) < 2:
            return text
        return f"**{defuse(' · '.join(courses))}** (a shared cluster) · {text}"

    # ------------------------------------------------------------------ poll path
    async def reconcile(
        self, now: datetime | None = None, *, queue: Sequence[JobRecord] | None = None, events: bool = True
    ) -> int:
        """Catch up: stored events not handled yet (unless `events` is False), then one sacct
        read for `all`-mode students since the cursor (minus a margin, since slurmdbd may write
        a record late). `queue` is squeue's listing of the moment, if read: it says whether
        an array still runs and how many tasks it has. Returns the number of DMs queued."""
        async with self._reconciling:
            now = now or self._clock.now()
            queued = 0
            for event_id, payload, attempts in await self._store.pending_events() if events else []:
                if self._tasks.in_flight(event_id):
                    continue  # still being handled by the push path
                try:
                    event = parse_job_event(payload)
                except InvalidJobEvent as err:  # accept() stores only parsed events; never retry one
                    log.warning("slurm event %s closed: %s", event_id, err)
                    await self._store.event_attempted(event_id, done=True, now=self._clock.now())
                    continue
                await self._run_event(event, attempts=attempts, patient=False)
            users = await self._store.users_with_mode("all")
            cursor = await self._store.cursor(self._name) or (now - self._first_lookback)
            if users:
                records = [
                    r for r in await self._cluster.jobs_ended_since(cursor - self._margin) if r.user in users
                ]
                for item in group_arrays(records):
                    queued += await self._reconcile_one(item, queue)
            await self._store.set_cursor(self._name, max(now, cursor))
            return queued

    async def _reconcile_one(self, item: JobRecord | ArraySummary, queue: Sequence[JobRecord] | None) -> int:
        if await self._store.notified(item.key):
            return 0
        if isinstance(item, JobRecord):
            return int(await self._notify([item], source="poll"))
        held = array_in_queue(queue, item.array_job_id, item.user) if queue is not None else []
        if any(not r.finished for r in held):
            return 0  # slurmctld still runs or queues a task: a later poll sees the last one end
        # Some tasks may have ended long before the window: re-read the whole array.
        group = [
            r for r in _latest_group(await self._cluster.job_group(item.array_job_id), item.array_job_id)
            if r.submit == item.submit
        ]  # fmt: skip
        if not _ready(group):
            return 0
        if held:
            # slurmctld knows these tasks ended; sacct must know each of them too (slurmdbd
            # is written asynchronously, and a missing row would make the counts wrong).
            known = {i for r in group for i in r.task_ids}
            if not {i for r in held for i in r.task_ids} <= known:
                return 0
        else:
            # Not in the queue listing (none given, or ended longer ago than MinJobAge): no
            # task count to check, so wait until the last known end has settled.
            ends = [r.end for r in group if r.end is not None]
            if not ends or max(ends) > self._clock.now() - self._array_settle:
                return 0
        return int(await self._notify(group, source="poll"))

    async def ingest_spool(self, spool_dir: Path) -> int:
        """Accept MailProg events still in its spool (the bot was down when they were
        written; the spool is local disk, so no signature is needed) and remove the files.
        Only where the bot runs on the host that writes the spool; else run `--flush`."""
        files = await asyncio.to_thread(lambda: sorted(spool_dir.glob("*.json")))
        taken = 0
        for path in files:
            try:
                event = parse_job_event(json.loads(await asyncio.to_thread(path.read_text)))
                taken += int(await self.accept(event))
            except (OSError, ValueError) as err:  # InvalidJobEvent is a ValueError
                log.warning("spool file %s skipped: %s", path.name, err)
                continue
            await asyncio.to_thread(path.unlink, True)
        return taken

    async def poll(self, spool_dir: Path | None) -> None:
        """The periodic pass, called every `tick_seconds`. Every `full_every` seconds (and on
        the first call) the full poll: MailProg events left in the local spool (the bot was
        down when they were written), stored events to retry, and the sacct read. In between,
        when a tick is due (`job_watch.EndWatch`): one squeue listing, and the sacct read only
        if it shows a job of a student on `all` that ended untold. A spool that cannot be
        read does not keep the poll from running."""
        now = self._clock.now()
        full = self._next_full is None or now >= self._next_full
        if not full and self._next_tick is not None and now < self._next_tick:
            return
        if full:
            self._next_full = now + self._full_every
            await self._take_spool(spool_dir)
        users = await self._store.users_with_mode("all")
        queue: list[JobRecord] | None = None
        if users:
            try:
                queue = await self._cluster.queued()
            except Unavailable as err:  # Slurm down: one line, no watching until the next full poll
                log.warning("job watch: cannot list the queue (%s)", err)
        due = self._watch.observe(queue, users, now) if queue is not None else []
        if full or due:
            try:
                await self.reconcile(queue=queue, events=full)
            except Unavailable as err:  # Slurm down: one line, the next pass tries again
                log.warning("job notification reconciliation failed (%s)", err)
            except Exception:
                log.exception("job notification reconciliation failed")
            for key in due:  # also after a failed read: the chase backs off, never hammers
                self._watch.tried(key, told=await self._store.notified(key), now=now)
        if queue is not None:
            self._next_tick = self._watch.next_tick(now)
        elif users:  # squeue failing: no watching until the next full poll
            self._next_tick = self._next_full
        else:  # nobody on `all` yet: look again soon, someone may choose it any moment
            self._next_tick = now + timedelta(seconds=self._watch.idle)

    async def _take_spool(self, spool_dir: Path | None) -> None:
        if spool_dir is None:
            return
        try:
            taken = await self.ingest_spool(spool_dir)
            if taken:
                log.info("%d job events taken from the spool %s", taken, spool_dir)
        except Exception:
            log.exception("reading the MailProg spool %s failed", spool_dir)
