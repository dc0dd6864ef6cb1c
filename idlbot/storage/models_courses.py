"""The course a user in several courses means in a DM (``ports/course_choice.py``).

One row per Mattermost user, of the deployment (not of a course): the course their DMs go
to, and whether they chose it (`/idl use`) or the bot picked it when it asked them, once.
The row is written when the bot first asks, by an INSERT that does nothing if a row is
there, with the post whose answer asks: with several replicas (each sees every DM and may
answer it; one answer is sent) or a retry after a crash, every answer to that post asks,
and no answer to another post does, so the question goes out once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy.orm import Mapped, mapped_column

from idlbot.storage.courses import COURSE_ID
from idlbot.storage.models import MM_ID, Base, UtcDateTime

__all__ = ["CourseChoiceRow"]


class CourseChoiceRow(Base):
    __tablename__ = "course_choices"

    user_id: Mapped[str] = mapped_column(MM_ID, primary_key=True)
    course: Mapped[str] = mapped_column(COURSE_ID)
    chosen: Mapped[bool] = mapped_column(Boolean)  # False: picked by the bot when it asked
    asked_in: Mapped[str | None] = mapped_column(MM_ID, nullable=True)  # the post whose answer asks
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
