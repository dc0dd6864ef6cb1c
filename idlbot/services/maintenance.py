"""MaintenanceService: Slurm MAINT reservations ⇄ announcements in the cluster channel.

`tick(now)` is the whole loop, called periodically by the app (every minute is plenty):
it reads Slurm's reservations (so windows that admins create with scontrol are picked up
like the bot's own), remembers new MAINT ones, and enqueues whatever `domain.maintenance.
decide` says is due. Posts go through the outbox under `maint:<name>:<first start>:<step>`
keys and the step is recorded only after the enqueue, so a crash or a second bot process
repeats at most an enqueue that the key makes a no-op.

Slurm forgets a reservation at its end; our row does not, which is how "the cluster is up
again" can wait for sinfo to show the nodes back after the planned end.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from idlbot.domain import maintenance as dm
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import UserError
from idlbot.domain.jobs import ClusterError, Reservation, ReservationConflict
from idlbot.domain.maintenance import Window
from idlbot.ports.announce import Added, ChannelResolver, MaintenanceCluster, UserResolver
from idlbot.ports.outbox import Outbox

log = logging.getLogger(__name__)


class MaintenanceStore(Protocol):
    async def add(self, w: Window, now: datetime) -> bool: ...
    async def open_windows(self) -> list[Window]: ...
    async def mark(self, key_base: str, step: str, at: datetime) -> None: ...
    async def move(self, key_base: str, start: datetime, end: datetime) -> None: ...
    async def add_warned(self, key_base: str, job_ids: Iterable[int]) -> None: ...


class MaintenanceService:
    """The `Maintenance` port and the periodic `tick`. `channel` is the channel name of
    the cluster channel (`[mattermost.channels] cluster`), `tz` the course zone in which
    the channel posts show times; `resolve` maps cluster usernames to Mattermost ids."""

    def __init__(
        self,
        cluster: MaintenanceCluster,
        store: MaintenanceStore,
        outbox: Outbox,
        channel_id: ChannelResolver,
        resolve: UserResolver,
        *,
        channel: str,
        tz: ZoneInfo,
        cluster_name: str = "GPU",
        more_channels: Sequence[tuple[str, ChannelResolver, str]] = (),
    ) -> None:
        """`more_channels`: (course id, resolver, channel name) of the other courses of a
        deployment of several: the cluster is shared, so each course's cluster channel
        hears of a window (each post keyed by its course, so each is sent once)."""
        self._cluster = cluster
        self._more = tuple(more_channels)
        self._store = store
        self._outbox = outbox
        self._channel_id = channel_id
        self._resolve = resolve
        self._channel = channel
        self._tz = tz
        self._name = cluster_name

    # --- commands ------------------------------------------------------------------------
    async def add(
        self, start: datetime, end: datetime, reason: str, *, by: str, ignore_jobs: bool, now: datetime
    ) -> Added | ReservationConflict:
        if end <= start:
            raise UserError("The end must come after the start.")
        if start <= now:
            raise UserError("The window must start in the future.")
        name = f"maint_{start.astimezone(UTC):%Y%m%d_%H%M}"
        made = await self._cluster.create_maintenance(name, start, end, reason, ignore_jobs=ignore_jobs)
        if isinstance(made, ReservationConflict):
            return made
        window = dm.new_window(made, source="bot", reason=reason, by=by)
        await self._store.add(window, now)
        await self.tick(now)
        announced = any(
            w.key_base == window.key_base and w.announced_at for w in await self._store.open_windows()
        )
        return Added(window, announced)

    async def windows(self, now: datetime) -> list[Window]:
        await self.tick(now)
        return await self._store.open_windows()

    async def cancel(self, name: str, *, now: datetime) -> Window:
        for w in await self._store.open_windows():
            if w.name == name:
                if now >= w.start:
                    raise UserError(f"“{defuse(name)}” has already begun; it ends by itself at its end time.")
                await self._cluster.delete_reservation(name)
                await self.tick(now)
                return w
        raise UserError(
            f"There is no open maintenance window “{defuse(name)}”; `/idl maintenance list` shows them."
        )

    # --- the loop ------------------------------------------------------------------------
    async def tick(self, now: datetime) -> None:
        """Reconcile with Slurm and enqueue what is due. A Slurm outage (expected during a
        power shutdown) skips this tick; a later one catches up."""
        try:
            seen = {r.name: r for r in await self._cluster.reservations() if r.maintenance}
        except ClusterError as err:
            log.warning("maintenance tick: cannot list reservations: %s", err)
            seen = None
        known = await self._store.open_windows()
        if seen is not None:
            names = {w.name for w in known}
            for r in seen.values():
                if r.name not in names and r.end > now:
                    await self._store.add(dm.new_window(r), now)
            known = await self._store.open_windows()
        for w in known:
            try:
                await self._step(w, None if seen is None else seen.get(w.name), now, listed=seen is not None)
            except ClusterError as err:
                log.warning("maintenance %s: %s", w.name, err)

    async def _step(self, w: Window, seen: Reservation | None, now: datetime, *, listed: bool) -> None:
        if not listed:  # Slurm did not answer: nothing known about the reservation, but the
            seen = Reservation(w.name, w.start, w.end, frozenset({"MAINT"}))  # nodes may be back
        decision = dm.decide(w, seen, now)
        if decision.cancelled:
            if w.announced_at is not None:
                await self._post(w.key("cancelled"), dm.render_cancelled(w, self._tz, self._name), now)
            await self._store.mark(w.key_base, "cancelled_at", now)
            return
        if seen is not None and (seen.start, seen.end) != (w.start, w.end):
            w = dm.moved_to(w, seen)
            await self._store.move(w.key_base, w.start, w.end)
            if decision.moved:
                stamp = f"{w.start.astimezone(UTC):%Y%m%dT%H%M}-{w.end.astimezone(UTC):%Y%m%dT%H%M}"
                await self._post(w.key(f"moved:{stamp}"), dm.render_moved(w, self._tz, self._name), now)
        if decision.announce:
            await self._post(w.key("announce"), dm.render_announce(w, self._tz, self._name), now)
            await self._store.mark(w.key_base, "announced_at", now)
        if decision.remind:
            await self._post(w.key("remind"), dm.render_remind(w, self._tz, self._name), now)
            await self._store.mark(w.key_base, "reminded_at", now)
        if decision.warn_jobs:
            await self._warn_owners(w, now)
        if decision.check_nodes and dm.cluster_back(await self._cluster.nodes()):
            if w.announced_at is not None or decision.announce:
                await self._post(w.key("up"), dm.render_up(self._name), now)
            await self._store.mark(w.key_base, "up_at", now)

    async def _warn_owners(self, w: Window, now: datetime) -> None:
        """DM each owner about their jobs that reach into the window and were not in an
        earlier DM. The key carries the lowest new job id: if a crash lands between the
        enqueue and `add_warned`, the next tick computes the same key (job ids only grow)."""
        jobs = dm.overlapping_jobs(await self._cluster.running_and_pending(), w.start, now)
        fresh = [j for j in jobs if j.job_id not in w.warned_jobs]
        for user, owned in sorted(dm.jobs_by_owner(fresh).items()):
            user_id = await self._resolve(user)
            if user_id is not None:
                await self._outbox.enqueue(
                    key=w.key(f"dm:{user}:{min(j.job_id for j in owned)}"),
                    message=dm.render_job_warning(w, owned, self._tz),
                    now=now,
                    dm_user_id=user_id,
                )
            else:
                log.info("maintenance %s: no chat account for cluster user %s", w.name, user)
        if fresh:
            await self._store.add_warned(w.key_base, {j.job_id for j in fresh})

    async def _post(self, key: str, message: str, now: datetime) -> None:
        targets = [("", self._channel_id, self._channel), *self._more]
        for course, resolve, name in targets:
            channel_id = await resolve(name)
            if channel_id is None:
                raise ClusterError(f"the cluster channel ~{name} does not exist")
            await self._outbox.enqueue(
                key=f"{key}@{course}" if course else key, message=message, now=now, channel_id=channel_id
            )
