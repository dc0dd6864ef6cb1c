"""What the job notifications keep in the database (`storage.jobs.SqlJobStore`).

Every "once" of the notifier is decided here, not in the service: the MailProg route and
the sacct poll may reach one job at the same moment, and exactly one of them may DM. So
the writes that claim something return whether this caller won.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from idlbot.domain.jobs import JobKey, NoticeKind, NoticeSource
from idlbot.ports.jobs import NotifyMode


class NotifySettings(Protocol):
    """Each student's choice of job DMs, by cluster account."""

    async def mode(self, cluster_user: str) -> NotifyMode | None:
        """The stored choice, or None if they never chose (the caller's default applies)."""
        ...

    async def set_mode(self, cluster_user: str, *, user_id: str, mode: NotifyMode, now: datetime) -> None:
        """Store the choice with the Mattermost id it was made from (`/idl notify jobs`)."""
        ...


class JobStore(NotifySettings, Protocol):
    """MailProg events, notices sent, and the poll cursor, for `JobNotifier`."""

    async def record_event(
        self, *, event_id: str, cluster: str, job_id: int, payload: dict[str, Any], now: datetime
    ) -> bool:
        """Keep a verified event before the route answers 2xx (a crash then loses nothing);
        False when this event id was stored before (MailProg resent it)."""
        ...

    async def pending_events(self) -> list[tuple[str, dict[str, Any], int]]:
        """Events not closed yet, oldest first: (event id, payload, attempts so far), so the
        poll can retry what the push path could not finish."""
        ...

    async def event_attempted(self, event_id: str, *, done: bool, now: datetime) -> None:
        """Count one attempt; `done` closes the event, else it is retried up to a limit."""
        ...

    async def notified(self, key: JobKey) -> bool:
        """Whether this job (or array) was told already: a cheap check before sacct work."""
        ...

    async def mark_notified(
        self,
        key: JobKey,
        *,
        kind: NoticeKind,
        cluster_user: str,
        user_id: str | None,
        state: str,
        source: NoticeSource,
        outbox_key: str | None,
        now: datetime,
    ) -> bool:
        """Record the notice; False if the other path recorded this job first."""
        ...

    async def users_with_mode(self, mode: NotifyMode) -> set[str]:
        """Cluster accounts with this choice: the poll reads sacct only for `all`."""
        ...

    async def cursor(self, cluster: str) -> datetime | None:
        """Until when the poll has read this cluster's ended jobs, None before the first poll."""
        ...

    async def set_cursor(self, cluster: str, when: datetime) -> None:
        """Move the poll cursor (jobs that ended while the bot was down come after it)."""
        ...
