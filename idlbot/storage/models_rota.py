"""The session-summary rota (``domain/rota.py``): picks, excuses, swap requests and the
summary pages GitLab reported.

``summary_picks`` is keyed by (course, class_date): the pick is made by inserting the
row, so two processes (or a restart between pick and announcement) end with one writer
per class of a course; the loser reads the winner's row. ``revision`` grows with every
change of writer and is part of the DM keys, so each change is told exactly once.
``summary_pages`` is derived from GitLab (webhook and reconciliation both record it; the
slug is unique in one course's wiki) and is never the judge of who wrote it: that is
decided when reading, against the current writer. Every table carries its ``course``,
first in every key.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idlbot.storage.courses import COURSE_ID, course_column
from idlbot.storage.models import Base, UtcDateTime
from idlbot.storage.models_qualification import USERNAME

__all__ = ["SummaryExcuseRow", "SummaryPageRow", "SummaryPickRow", "SummarySwapRow"]

SLUG = String(512)


class SummaryPickRow(Base):
    """The writer of one class's summary; ``how``: auto, assigned or swapped."""

    __tablename__ = "summary_picks"

    course: Mapped[str] = mapped_column(COURSE_ID, primary_key=True)
    class_date: Mapped[date] = mapped_column(Date, primary_key=True)
    writer: Mapped[str] = mapped_column(USERNAME)
    how: Mapped[str] = mapped_column(String(16))
    announced: Mapped[bool] = mapped_column(Boolean)
    revision: Mapped[int] = mapped_column(Integer)
    picked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SummaryExcuseRow(Base):
    """A student excused from writing the summary of one class (staff decide)."""

    __tablename__ = "summary_excuses"
    __table_args__ = (UniqueConstraint("course", "class_date", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    class_date: Mapped[date] = mapped_column(Date)
    username: Mapped[str] = mapped_column(USERNAME)
    by: Mapped[str] = mapped_column(USERNAME)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class SummarySwapRow(Base):
    """A writer's request that another student write instead; pending until answered."""

    __tablename__ = "summary_swaps"
    __table_args__ = (Index("ix_summary_swaps_course_class_date", "course", "class_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    class_date: Mapped[date] = mapped_column(Date)
    asker: Mapped[str] = mapped_column(USERNAME)
    other: Mapped[str] = mapped_column(USERNAME)
    state: Mapped[str] = mapped_column(String(16))
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SummaryPageRow(Base):
    """A wiki page under the summaries prefix: its class date, author and creation time."""

    __tablename__ = "summary_pages"
    __table_args__ = (Index("ix_summary_pages_course_class_date", "course", "class_date"),)

    course: Mapped[str] = mapped_column(COURSE_ID, primary_key=True)
    slug: Mapped[str] = mapped_column(SLUG, primary_key=True)
    class_date: Mapped[date] = mapped_column(Date)
    author: Mapped[str] = mapped_column(USERNAME)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
