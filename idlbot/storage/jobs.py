"""Repository of the GPU job notifications: events, notices, settings, cursor.

Every "once" here is decided by the database (INSERT ... ON CONFLICT DO NOTHING on a
primary key), not by a SELECT first: the MailProg route and the reconciliation poll may
handle the same job at the same moment, and only one of them may win.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from idlbot.domain.jobs import JobKey, NoticeKind, NoticeSource
from idlbot.ports.jobs import NOTIFY_MODES, NotifyMode
from idlbot.storage._dialect import Database, insert_for, read, transaction
from idlbot.storage.models_jobs import JobEventRow, JobNoticeRow, JobNotifySettingRow, JobPollCursorRow

__all__ = ["SqlJobStore"]


class SqlJobStore:
    """Rows never leave this class; callers get plain values. Each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_event(
        self, *, event_id: str, cluster: str, job_id: int, payload: dict[str, Any], now: datetime
    ) -> bool:
        """Store a verified MailProg event; False if this id was stored before (a resend)."""
        async with transaction(self._db) as conn:
            stmt = (
                insert_for(conn, JobEventRow.__table__)
                .values(
                    event_id=event_id,
                    cluster=cluster,
                    job_id=job_id,
                    payload=payload,
                    received_at=now,
                    done_at=None,
                    attempts=0,
                )
                .on_conflict_do_nothing(index_elements=["event_id"])
                .returning(JobEventRow.event_id)
            )
            return (await conn.execute(stmt)).first() is not None

    async def pending_events(self, limit: int = 500) -> list[tuple[str, dict[str, Any], int]]:
        """Events not handled yet, oldest first: (event id, payload, attempts so far)."""
        stmt = (
            select(JobEventRow.event_id, JobEventRow.payload, JobEventRow.attempts)
            .where(JobEventRow.done_at.is_(None))
            .order_by(JobEventRow.received_at, JobEventRow.event_id)
            .limit(limit)
        )
        async with read(self._db) as conn:
            rows = (await conn.execute(stmt)).all()
        return [(r.event_id, dict(r.payload), int(r.attempts)) for r in rows]

    async def event_attempted(self, event_id: str, *, done: bool, now: datetime) -> None:
        """Count one processing attempt; `done` closes the event for good."""
        values: dict[str, Any] = {"attempts": JobEventRow.attempts + 1}
        if done:
            values["done_at"] = now
        async with transaction(self._db) as conn:
            await conn.execute(update(JobEventRow).where(JobEventRow.event_id == event_id).values(**values))

    async def notified(self, key: JobKey) -> bool:
        stmt = select(JobNoticeRow.job_id).where(
            JobNoticeRow.cluster == key.cluster,
            JobNoticeRow.job_id == key.job_id,
            JobNoticeRow.submit == key.submit,
        )
        async with read(self._db) as conn:
            return (await conn.execute(stmt)).first() is not None

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
        """Record the notice; False if the job was recorded before (the other path won)."""
        async with transaction(self._db) as conn:
            stmt = (
                insert_for(conn, JobNoticeRow.__table__)
                .values(
                    cluster=key.cluster,
                    job_id=key.job_id,
                    submit=key.submit,
                    kind=kind,
                    cluster_user=cluster_user,
                    user_id=user_id,
                    state=state,
                    source=source,
                    outbox_key=outbox_key,
                    notified_at=now,
                )
                .on_conflict_do_nothing(index_elements=["cluster", "job_id", "submit"])
                .returning(JobNoticeRow.job_id)
            )
            return (await conn.execute(stmt)).first() is not None

    async def mode(self, cluster_user: str) -> NotifyMode | None:
        """The user's choice, or None when they never chose (the caller's default applies)."""
        stmt = select(JobNotifySettingRow.mode).where(JobNotifySettingRow.cluster_user == cluster_user)
        async with read(self._db) as conn:
            value = (await conn.execute(stmt)).scalar_one_or_none()
        for known in NOTIFY_MODES:
            if value == known:
                return known
        return None

    async def set_mode(self, cluster_user: str, *, user_id: str, mode: NotifyMode, now: datetime) -> None:
        if mode not in NOTIFY_MODES:
            raise ValueError(f"unknown notify mode {mode!r}")
        async with transaction(self._db) as conn:
            stmt = insert_for(conn, JobNotifySettingRow.__table__).values(
                cluster_user=cluster_user, user_id=user_id, mode=mode, updated_at=now
            )
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["cluster_user"],
                    set_={"user_id": user_id, "mode": mode, "updated_at": now},
                )
            )

    async def users_with_mode(self, mode: NotifyMode) -> set[str]:
        stmt = select(JobNotifySettingRow.cluster_user).where(JobNotifySettingRow.mode == mode)
        async with read(self._db) as conn:
            return set((await conn.execute(stmt)).scalars())

    async def cursor(self, cluster: str) -> datetime | None:
        stmt = select(JobPollCursorRow.polled_until).where(JobPollCursorRow.cluster == cluster)
        async with read(self._db) as conn:
            value: datetime | None = (await conn.execute(stmt)).scalar_one_or_none()
        return value

    async def set_cursor(self, cluster: str, when: datetime) -> None:
        async with transaction(self._db) as conn:
            stmt = insert_for(conn, JobPollCursorRow.__table__).values(cluster=cluster, polled_until=when)
            await conn.execute(
                stmt.on_conflict_do_update(index_elements=["cluster"], set_={"polled_until": when})
            )
