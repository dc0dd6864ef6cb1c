"""The exclusion transitions of each student (``domain/exclusion.py``), one row each.

A row is written in the transaction of the presentation record that caused it, with the
next ``seq`` for the student (UNIQUE: two racing writers cannot both take a number; the
writer also locks the student's row first, so the second one waits and then finds the
first's transition). ``announced_at`` stays NULL until its notices are in the outbox: a
crash in between leaves it NULL, and the next announcing pass (at every start, after
every presentation record) queues them under the same keys. Rows are never deleted, so
the table is also the history of who was excluded and reinstated when, and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idlbot.storage.courses import course_column
from idlbot.storage.models import Base, UtcDateTime
from idlbot.storage.models_qualification import IDENT, USERNAME

__all__ = ["ExclusionChangeRow"]


class ExclusionChangeRow(Base):
    """One transition: excluded (True) or reinstated (False), number ``seq`` of its student."""

    __tablename__ = "exclusion_changes"
    __table_args__ = (UniqueConstraint("student_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    seq: Mapped[int] = mapped_column(Integer)
    excluded: Mapped[bool] = mapped_column(Boolean)
    fails: Mapped[int] = mapped_column(Integer)
    fails_limit: Mapped[int] = mapped_column(Integer)
    assignment_id: Mapped[str] = mapped_column(IDENT)
    outcome: Mapped[str] = mapped_column(String(8))
    actor: Mapped[str] = mapped_column(USERNAME)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"))  # the record that made it
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
