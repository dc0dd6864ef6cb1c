"""The early-warning transitions of each student (``domain/early_warnings.py``), one row each.

Written by the warning check with the next ``seq`` for the student (UNIQUE, and the
writer locks the student's row first, as for ``exclusion_changes``), so two checks at
once, in one process or two, store a change once. ``announced_at`` stays NULL until the
student's DM is in the outbox; a crash in between leaves it to the next pass, which
queues it under the same key ``warn:<student>:<seq>``. Rows are never deleted: the
table is also the history of who was warned when, with the forecast they were shown.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idlbot.storage.courses import course_column
from idlbot.storage.models import Base, UtcDateTime

__all__ = ["WarningChangeRow"]


class WarningChangeRow(Base):
    """One transition to ``state`` (from ``previous``), number ``seq`` of its student."""

    __tablename__ = "warning_changes"
    __table_args__ = (UniqueConstraint("student_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    seq: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    previous: Mapped[str] = mapped_column(String(16))
    forecast: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
