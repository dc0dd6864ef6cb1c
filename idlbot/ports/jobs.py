"""Ports of the GPU job notifications: what `/idl jobs` and `/idl notify` need.

Kept apart from `ports.py` so the commands depend on a Protocol, not on the notifier's
SQL and subprocess plumbing; command tests pass an in-memory fake.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from idlbot.domain.job_reasons import MaintWindow
from idlbot.domain.jobs import JobRecord

NotifyMode = Literal["all", "mail", "off"]
NOTIFY_MODES: tuple[NotifyMode, ...] = ("all", "mail", "off")
DEFAULT_MODE: NotifyMode = "mail"
"""Without a choice, DM exactly for the jobs the student asked Slurm to mail about."""


class Jobs(Protocol):
    """A student's Slurm jobs and their notification choice, by Mattermost identity."""

    async def cluster_user(self, username: str) -> str | None:
        """The cluster account of a Mattermost username (roster), or None if unknown."""
        ...

    async def notify_mode(self, cluster_user: str) -> NotifyMode: ...

    async def set_notify_mode(
        self, cluster_user: str, *, user_id: str, mode: NotifyMode, now: datetime
    ) -> None: ...

    async def my_jobs(self, cluster_user: str, *, since: datetime) -> list[JobRecord]:
        """Running and pending jobs, then those that ended since `since`, newest first."""
        ...

    async def queued(self, job_id: str) -> list[JobRecord]:
        """The records slurmctld holds for "12" or "12_3" (all of an array's), ended ones
        for a while included; [] when it does not know the id."""
        ...

    async def history(self, job_id: int) -> list[JobRecord]:
        """sacct's records of the latest job (or array) with this id; [] if none."""
        ...

    async def maintenance_windows(self) -> list[MaintWindow]:
        """Maintenance windows not over yet: the bot's own, and Slurm's MAINT reservations."""
        ...
