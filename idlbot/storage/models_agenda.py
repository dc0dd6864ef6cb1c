"""Tables of the class agenda, on the shared metadata.

`agenda_frozen` is keyed by (course, class_date): inserting it is the freeze, so two
processes (or a restart racing the cutoff) can never freeze one class twice; the loser
publishes the winner's list. Every table carries its `course` first in its key: each
course has its own GitLab project, so the same iid names different questions in two
courses. The publish progress (`post_revision`, `wiki_revision`,
`labels_revision`) lives in the same row, so a crash between the post and the wiki
page leaves a row that says exactly what is left to do.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idlbot.storage.courses import COURSE_ID
from idlbot.storage.models import Base, UtcDateTime

__all__ = ["AgendaDoneRow", "AgendaFrozenRow", "AgendaSkipRow"]


class AgendaFrozenRow(Base):
    """One frozen agenda. `items` are the included questions as frozen (AgendaItem JSON),
    `ranking` the iids of every eligible question in GitLab's order, `labeled` the iids
    that carry this class's label in GitLab (so a re-freeze knows what to unlabel)."""

    __tablename__ = "agenda_frozen"

    course: Mapped[str] = mapped_column(COURSE_ID, primary_key=True)
    class_date: Mapped[date] = mapped_column(Date, primary_key=True)
    cutoff_at: Mapped[datetime] = mapped_column(UtcDateTime)
    frozen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revision: Mapped[int] = mapped_column(Integer)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    ranking: Mapped[list[int]] = mapped_column(JSON)
    labeled: Mapped[list[int]] = mapped_column(JSON)
    post_revision: Mapped[int] = mapped_column(Integer)
    wiki_revision: Mapped[int] = mapped_column(Integer)
    labels_revision: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class AgendaDoneRow(Base):
    """`/idl agenda done #12`: discussed in class, so it never returns to an agenda."""

    __tablename__ = "agenda_done"

    course: Mapped[str] = mapped_column(COURSE_ID, primary_key=True)
    iid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    done_at: Mapped[datetime] = mapped_column(UtcDateTime)
    done_by: Mapped[str] = mapped_column(String(64))


class AgendaSkipRow(Base):
    """`/idl agenda skip #12`: left out of that one class's agenda."""

    __tablename__ = "agenda_skips"

    course: Mapped[str] = mapped_column(COURSE_ID, primary_key=True)
    class_date: Mapped[date] = mapped_column(Date, primary_key=True)
    iid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    skipped_at: Mapped[datetime] = mapped_column(UtcDateTime)
    skipped_by: Mapped[str] = mapped_column(String(64))
