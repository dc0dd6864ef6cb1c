"""The `Jobs` port for the commands: roster lookups, notification settings, and the
squeue/sacct reads behind `/idl jobs` and `/idl jobs why`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from idlbot.domain.job_reasons import MaintWindow
from idlbot.domain.jobs import ClusterError, JobRecord, Reservation
from idlbot.domain.maintenance import Window
from idlbot.ports.job_store import NotifySettings
from idlbot.ports.jobs import DEFAULT_MODE, NotifyMode
from idlbot.services.jobs import JobSource

log = logging.getLogger(__name__)


class WindowSource(Protocol):
    """Maintenance windows for `jobs why`: the bot's store (`SqlMaintenanceStore`)."""

    async def open_windows(self) -> list[Window]: ...


class JobsDesk:
    """The `Jobs` port for the commands: roster lookups, settings, and sacct/squeue reads."""

    def __init__(
        self,
        *,
        cluster: JobSource,
        store: NotifySettings,
        cluster_user: Callable[[str], Awaitable[str | None]],
        windows: WindowSource | None = None,
        reservations: Callable[[], Awaitable[list[Reservation]]] | None = None,
    ) -> None:
        self._cluster = cluster
        self._store = store
        self._cluster_user = cluster_user
        self._windows = windows
        self._reservations = reservations

    async def cluster_user(self, username: str) -> str | None:
        return await self._cluster_user(username)

    async def notify_mode(self, cluster_user: str) -> NotifyMode:
        return await self._store.mode(cluster_user) or DEFAULT_MODE

    async def set_notify_mode(
        self, cluster_user: str, *, user_id: str, mode: NotifyMode, now: datetime
    ) -> None:
        await self._store.set_mode(cluster_user, user_id=user_id, mode=mode, now=now)

    async def my_jobs(self, cluster_user: str, *, since: datetime) -> list[JobRecord]:
        active = [r for r in await self._cluster.running_and_pending() if r.user == cluster_user]
        ended = [r for r in await self._cluster.jobs_ended_since(since) if r.user == cluster_user]
        ended.sort(key=lambda r: r.end or r.submit, reverse=True)
        return active + ended

    async def queued(self, job_id: str) -> list[JobRecord]:
        return await self._cluster.queued(job_id)

    async def history(self, job_id: int) -> list[JobRecord]:
        return await self._cluster.job_group(job_id)

    async def maintenance_windows(self) -> list[MaintWindow]:
        """The store's windows (they carry the reason the staff gave), then Slurm's MAINT
        reservations the store does not have yet (the maintenance tick adds them within
        its interval). Slurm not answering leaves the store's."""
        found: dict[str, MaintWindow] = {}
        if self._windows is not None:
            for w in await self._windows.open_windows():
                if w.cancelled_at is None:
                    found[w.name] = MaintWindow(w.name, w.start, w.end, w.reason)
        if self._reservations is not None:
            try:
                for r in await self._reservations():
                    if r.maintenance and r.name not in found:
                        found[r.name] = MaintWindow(r.name, r.start, r.end)
            except ClusterError as err:
                log.warning("jobs why: cannot list reservations: %s", err)
        return sorted(found.values(), key=lambda w: w.start)
