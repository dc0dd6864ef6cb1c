"""Tables of announcements and maintenance windows, on the shared metadata.

`announcements` holds drafts (waiting for the author's confirmation), scheduled and queued
announcements of a course; the post itself lives in the outbox under `announce:<id>`, so
this table only has to say whether it is due. `maint_windows` remembers each maintenance
window after Slurm forgets it (Slurm drops a reservation at its end), because "the cluster
is up again" is posted after that, once the nodes are back. The cluster is shared by every
course, so windows belong to the deployment and carry no course.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idlbot.storage.courses import course_column
from idlbot.storage.models import Base, UtcDateTime

__all__ = ["AnnouncementRow", "MaintWindowRow"]


class AnnouncementRow(Base):
    """`state`: draft → scheduled | queued, or cancelled. `token` is the per-draft secret
    the confirm button carries back (Mattermost's action POST has no auth of its own).
    The id stays a surrogate unique across courses; `course` says whose it is, and the
    repository filters on it even where the id alone would do (a button of one course
    must not act on another's announcement)."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    state: Mapped[str] = mapped_column(String(16))
    channel_id: Mapped[str] = mapped_column(String(64))
    channel_name: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    notify: Mapped[str] = mapped_column(String(16))
    post_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    token: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MaintWindowRow(Base):
    """One window; `key_base` (name + first start) is unique and prefixes its outbox keys.
    A row is open until `up_at` or `cancelled_at` is set. `warned_jobs` lets later ticks DM
    owners about jobs submitted after the first warning, without repeating the old ones."""

    __tablename__ = "maint_windows"
    __table_args__ = (UniqueConstraint("key_base"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_base: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(128))
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    end: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    up_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    warned_jobs: Mapped[list[int]] = mapped_column(JSON)  # job ids whose owners were DMed
