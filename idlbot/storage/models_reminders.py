"""Tables of the reminders feature, on the shared metadata.

Our tables, not APScheduler's job store, are the source of truth: custom reminders
say what is due (with the config rules), firings say what was decided for each
occurrence. `reminder_firings` (course, key) is UNIQUE: inserting it is the claim, so
two bot processes on one database can never both send the same occurrence of a course.

Every row carries its `course` (storage/courses.py): a student in two courses mutes each
separately and has a calendar token per course. The token itself stays unique across the
database, so the /calendar URL alone tells whose feed, and in which course, it is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idlbot.storage.courses import COURSE_ID, course_column
from idlbot.storage.models import MM_ID, Base, UtcDateTime

__all__ = ["FIRING_STATES", "CalendarTokenRow", "CustomReminderRow", "FiringRow", "MuteRow"]

FIRING_STATES = ("planned", "claimed", "sent", "skipped", "failed")


class CustomReminderRow(Base):
    """`/idl remind add`: once at `first_at`, or weekly at its local weekday and time."""

    __tablename__ = "reminder_custom"
    __table_args__ = (CheckConstraint("kind IN ('once', 'weekly')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    kind: Mapped[str] = mapped_column(String(8))
    first_at: Mapped[datetime] = mapped_column(UtcDateTime)
    channel: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[str | None] = mapped_column(MM_ID)  # None: stored before it was recorded
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class FiringRow(Base):
    """One occurrence's fate. Inserted when a process claims it (state `claimed`), then
    `sent` (queued in the outbox under `outbox_key`), `skipped` or `failed`, with the
    reason. A `claimed` row older than the stale limit may be taken over: its process
    died between claim and enqueue, and the outbox key makes a second enqueue a no-op."""

    __tablename__ = "reminder_firings"
    __table_args__ = (
        CheckConstraint(
            "state IN ('planned', 'claimed', 'sent', 'skipped', 'failed')",
            name="state",
        ),
        UniqueConstraint("course", "key"),
        Index("ix_reminder_firings_course_fire_at", "course", "fire_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    fire_at: Mapped[datetime] = mapped_column(UtcDateTime)
    target: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16))
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    outbox_key: Mapped[str | None] = mapped_column(String(255))
    fanout: Mapped[int] = mapped_column(Integer, default=0)


class MuteRow(Base):
    """A user who turned off an optional kind of reminder (`/idl remind off`)."""

    __tablename__ = "reminder_mutes"

    course: Mapped[str] = mapped_column(COURSE_ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(MM_ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    muted_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CalendarTokenRow(Base):
    """The secret in a student's ICS feed URL; `/idl calendar reset` replaces it. One per
    user and course; the token is unique in the whole database (it names its course)."""

    __tablename__ = "calendar_tokens"

    course: Mapped[str] = mapped_column(COURSE_ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(MM_ID, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
