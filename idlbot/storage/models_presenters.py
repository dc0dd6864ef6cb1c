"""Tables of the team presenter rota: the bot's proposals and the recorded presentations.

``presenter_proposals`` holds one row per course, team and class day (UNIQUE): the proposing
firing inserts with ON CONFLICT DO NOTHING and reads the row back, so two processes, a
retry after a crash or a restart all end up with the one proposal first stored.
``team_presentations`` holds who presented for which team in which class, one row per
(course, team, class day, student): recording it again is a no-op the command reports
as such. Team ids are the course config's, so two courses may both have "team-a".
Class days are calendar dates (the class is on a wall-clock time in the course zone).
Same conventions as ``models.py``: no server defaults, shared naming convention.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idlbot.storage.courses import course_column
from idlbot.storage.models import Base, UtcDateTime
from idlbot.storage.models_qualification import IDENT, USERNAME

__all__ = ["ProposalRow", "TeamPresentationRow"]


class ProposalRow(Base):
    """The member proposed to present for `team_id` in the class of `class_day`."""

    __tablename__ = "presenter_proposals"
    __table_args__ = (UniqueConstraint("course", "team_id", "class_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    team_id: Mapped[str] = mapped_column(IDENT)
    class_day: Mapped[date] = mapped_column(Date)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class TeamPresentationRow(Base):
    """`student_id` presented `team_id`'s progress in the class of `class_day`."""

    __tablename__ = "team_presentations"
    __table_args__ = (
        UniqueConstraint("course", "team_id", "class_day", "student_id"),
        Index("ix_team_presentations_student_id", "student_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    team_id: Mapped[str] = mapped_column(IDENT)
    class_day: Mapped[date] = mapped_column(Date)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    by: Mapped[str] = mapped_column(USERNAME)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
