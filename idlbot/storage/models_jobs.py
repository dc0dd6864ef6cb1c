"""Tables of the GPU job notifications, on the shared metadata.

`job_notices` is keyed (cluster, job_id, submit): Slurm job ids restart at 1 when a
cluster's state is wiped, so the id alone would merge two different jobs. For an array the
key is the array job id and the array's submit time: one row, one DM, however many tasks.
`job_events` keeps every verified MailProg event by its `id` before the route answers 2xx,
so a duplicate POST (MailProg's `--flush` resends what it could not confirm) is dropped, and
an event whose processing was cut short (crash, sacct lagging) is retried by `reconcile`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from idlbot.storage.models import MM_ID, Base, UtcDateTime

__all__ = ["JobEventRow", "JobNoticeRow", "JobNotifySettingRow", "JobPollCursorRow"]


class JobNoticeRow(Base):
    """A job (or whole array) whose end the owner was told about (or deliberately not:
    `user_id` None means the cluster user has no Mattermost account, or has opted out)."""

    __tablename__ = "job_notices"

    cluster: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    submit: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "job" | "array"
    cluster_user: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(MM_ID)
    state: Mapped[str] = mapped_column(String(32))  # the outcome's state (array: most telling)
    source: Mapped[str] = mapped_column(String(8))  # "mail" | "poll"
    outbox_key: Mapped[str | None] = mapped_column(String(255))
    notified_at: Mapped[datetime] = mapped_column(UtcDateTime)


class JobEventRow(Base):
    """A verified MailProg event, stored before the 2xx. `done_at` None: not handled yet."""

    __tablename__ = "job_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cluster: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(BigInteger)


class JobNotifySettingRow(Base):
    """`/idl notify jobs all|mail|off`, per cluster account (the poll sees cluster users)."""

    __tablename__ = "job_notify_settings"

    cluster_user: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(MM_ID)
    mode: Mapped[str] = mapped_column(String(8))  # "all" | "mail" | "off"
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class JobPollCursorRow(Base):
    """Up to when the reconciliation poll has looked, per cluster; survives restarts, so
    jobs that ended while the bot was down are found on the first poll after it."""

    __tablename__ = "job_poll_cursors"

    cluster: Mapped[str] = mapped_column(String(64), primary_key=True)
    polled_until: Mapped[datetime] = mapped_column(UtcDateTime)
