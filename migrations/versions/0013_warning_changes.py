"""early-warning transitions per student, so each is told exactly once

Revision ID: 0013_warning_changes
Revises: 0010_exclusion_changes

Students are told privately when their qualification forecast reaches "you can miss no
more" and when qualification becomes unreachable, once per change
(`domain/early_warnings.py`). `warning_changes` holds each transition with its number in
the student's sequence; the DM's outbox key carries that number. Nothing is copied in:
a student without a row is taken to have been "ok", so one already at the last chance
is told once after the upgrade. Existing tables are not touched.

Hand-written and portable like 0010: no server defaults, names as the models' naming
convention makes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_warning_changes"
down_revision: str | Sequence[str] | None = "0012_presenters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "warning_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("previous", sa.String(length=16), nullable=False),
        sa.Column("forecast", sa.Text(), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("announced_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_warning_changes_student_id_students")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning_changes")),
        sa.UniqueConstraint("student_id", "seq", name=op.f("uq_warning_changes_student_id_seq")),
    )


def downgrade() -> None:
    op.drop_table("warning_changes")
