"""The `course` column that every row belonging to a course carries.

One deployment serves several courses from one database. Tables that belong to a
course (the roster and everything recorded about its students, its reminders,
announcements, agenda, rotas) carry `course`, the course's `Course.id`, in every row
and in every key that was unique within one course. Tables of the deployment (the
outbox, handled posts, GitLab delivery keys, leases, the shared cluster's jobs and
maintenance windows) do not.

A repository is bound to one course at construction (`course=`) and adds the column to
every insert and every filter; the default is `DEFAULT_COURSE_ID`, the one course of
a one-course deployment.

Migrations 0015 to 0017 add the column to existing tables and fill it with "course one":
the id `idlbot migrate` passes (the first course of the config), else the default.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from idlbot.domain.course import DEFAULT_COURSE_ID

__all__ = ["COURSE_ID", "DEFAULT_COURSE_ID", "add_course_column", "course_column", "course_one"]

COURSE_ID = sa.String(32)
"""A course id's column type; config limits ids to 32 characters too."""


def course_column() -> Mapped[str]:
    """The `course` column of a course-owned table (no default: a repository always says)."""
    return mapped_column(COURSE_ID, nullable=False)


def course_one() -> str:
    """Inside a migration: the course that a single-course database's rows belong to."""
    from alembic import context

    value = context.config.attributes.get("course_one")
    return value if isinstance(value, str) and value else DEFAULT_COURSE_ID


def add_course_column(table: str) -> None:
    """Inside a migration: add `course` to `table`, filled with `course_one()` on every
    existing row, and NOT NULL without a default afterwards (as the model says).

    Two steps because SQLite's batch mode copies the old rows into a rebuilt table: the
    default must still be there while they are copied."""
    from alembic import op

    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("course", COURSE_ID, nullable=False, server_default=course_one()))
    with op.batch_alter_table(table) as batch:
        batch.alter_column("course", existing_type=COURSE_ID, existing_nullable=False, server_default=None)
