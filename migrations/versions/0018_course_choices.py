"""course_choices: the course a user in several courses means in a DM

Revision ID: 0018_course_choices
Revises: 0017_course_agenda

A deployment may serve several courses (issue 15). A slash command names its course by
its team; a DM does not, so a user in several courses is asked once and their answer is
kept here, one row per Mattermost user (`storage/models_courses.py`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_course_choices"
down_revision: str | Sequence[str] | None = "0017_course_agenda"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "course_choices",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("course", sa.String(length=32), nullable=False),
        sa.Column("chosen", sa.Boolean(), nullable=False),
        sa.Column("asked_in", sa.String(length=26), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_course_choices")),
    )


def downgrade() -> None:
    op.drop_table("course_choices")
