"""Ports of announcements and maintenance.

* `Announcements`, `Maintenance`: the Context slots the commands use (implemented by
  `idlbot.services.announcements.AnnouncementService` and `idlbot.services.maintenance.MaintenanceService`).
* `MaintenanceCluster`: the slice of `SlurmCluster` the maintenance service needs, small so
  the state-machine tests run on an in-memory fake with a fake clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from idlbot.domain.announce import Announcement, Notify
from idlbot.domain.jobs import JobRecord, NodeInfo, Reservation, ReservationConflict
from idlbot.domain.maintenance import Window

ChannelResolver = Callable[[str], Awaitable[str | None]]
"""A channel name → its Mattermost id, or None (the app's Mattermost adapter has one)."""

UserResolver = Callable[[str], Awaitable[str | None]]
"""A cluster username → the Mattermost user id, or None (the roster provides it)."""


class MaintenanceCluster(Protocol):
    async def create_maintenance(
        self, name: str, start: datetime, end: datetime, reason: str = "", *, ignore_jobs: bool = False
    ) -> Reservation | ReservationConflict: ...

    async def reservations(self) -> list[Reservation]: ...

    async def delete_reservation(self, name: str) -> bool: ...

    async def running_and_pending(self) -> list[JobRecord]: ...

    async def nodes(self) -> list[NodeInfo]: ...


@dataclass(frozen=True)
class Draft:
    """A prepared announcement and, if it still needs confirming, the button props."""

    announcement: Announcement
    props: dict[str, object]


class Announcements(Protocol):
    def channel_name(self, typed: str) -> str:
        """A purpose from [mattermost.channels] or a channel name (`~` optional), as a name."""
        ...

    async def prepare(
        self,
        *,
        channel_name: str,
        text: str,
        notify: Notify,
        post_at: datetime | None,
        by: str,
        by_id: str,
        now: datetime,
    ) -> Draft:
        """Store a draft; raises UserError when the channel does not exist."""
        ...

    async def confirm(self, announcement_id: int, *, by_id: str, now: datetime) -> Announcement:
        """Post now (or schedule); raises UserError if it is not the caller's draft any more."""
        ...

    async def scheduled(self) -> list[Announcement]: ...

    async def cancel(self, announcement_id: int, *, now: datetime) -> Announcement:
        """Cancel a draft or a scheduled announcement; UserError when there is nothing to cancel."""
        ...


@dataclass(frozen=True)
class Added:
    window: Window
    announced: bool


class Maintenance(Protocol):
    async def add(
        self, start: datetime, end: datetime, reason: str, *, by: str, ignore_jobs: bool, now: datetime
    ) -> Added | ReservationConflict: ...

    async def windows(self, now: datetime) -> list[Window]:
        """Open windows (after a reconcile with Slurm), soonest first."""
        ...

    async def cancel(self, name: str, *, now: datetime) -> Window:
        """Delete the reservation and tell everyone; UserError when there is no such window."""
        ...
