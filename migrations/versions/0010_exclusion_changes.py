"""exclusion transitions per student, so each is announced exactly once

Revision ID: 0010_exclusion_changes
Revises: 0009_reminder_creator_id

Being excluded from the exam (enough failed presentations) used to be announced per
presentation record, so a fail recorded by a tutor and again by an instructor told the
student twice. `exclusion_changes` holds each transition (excluded / reinstated) with
its number in the student's sequence; the notices' outbox keys carry that number.

Nothing is copied in: a student without a row is judged by their fails before the next
record (see `domain/exclusion.py`), so a student excluded before this revision, already
told by the old code, is not told again. Existing tables are not touched.

Hand-written and portable like 0002: no server defaults, names as the models' naming
convention makes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_exclusion_changes"
down_revision: str | Sequence[str] | None = "0009_reminder_creator_id"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exclusion_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("fails", sa.Integer(), nullable=False),
        sa.Column("fails_limit", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("announced_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_exclusion_changes_student_id_students")
        ),
        sa.ForeignKeyConstraint(["audit_id"], ["audit.id"], name=op.f("fk_exclusion_changes_audit_id_audit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exclusion_changes")),
        sa.UniqueConstraint("student_id", "seq", name=op.f("uq_exclusion_changes_student_id_seq")),
    )


def downgrade() -> None:
    op.drop_table("exclusion_changes")
