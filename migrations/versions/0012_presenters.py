"""team presenter rota: proposals per team and class, recorded team presentations

Revision ID: 0012_presenters
Revises: 0010_exclusion_changes

`presenter_proposals` (UNIQUE team and class day: two processes never propose twice) and
`team_presentations` (UNIQUE team, class day, student: recording twice is a no-op).
`students.team_id` gets an index: `/idl status` reads the team's members in its one
statement, and the rota reads them per team.

Hand-written and portable like 0002: no server defaults, names as the models' naming
convention makes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_presenters"
down_revision: str | Sequence[str] | None = "0011_summary_rota"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "presenter_proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("class_day", sa.Date(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_presenter_proposals_student_id_students")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presenter_proposals")),
        sa.UniqueConstraint("team_id", "class_day", name=op.f("uq_presenter_proposals_team_id_class_day")),
    )
    op.create_table(
        "team_presentations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("class_day", sa.Date(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("by", sa.String(length=255), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_team_presentations_student_id_students")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_presentations")),
        sa.UniqueConstraint(
            "team_id",
            "class_day",
            "student_id",
            name=op.f("uq_team_presentations_team_id_class_day_student_id"),
        ),
    )
    op.create_index("ix_team_presentations_student_id", "team_presentations", ["student_id"])
    op.create_index("ix_students_team_id", "students", ["team_id"])


def downgrade() -> None:
    op.drop_index("ix_students_team_id", table_name="students")
    op.drop_index("ix_team_presentations_student_id", table_name="team_presentations")
    op.drop_table("team_presentations")
    op.drop_table("presenter_proposals")
