"""the session-summary rota: picks, excuses, swap requests, summary pages

Revision ID: 0011_summary_rota
Revises: 0010_exclusion_changes

Four new tables, nothing copied in, existing tables untouched. `summary_picks` is keyed
by the class date, so a class can never get two writers (two processes, a restart).
Hand-written and portable like 0002: no server defaults, names as the models' naming
convention makes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_summary_rota"
down_revision: str | Sequence[str] | None = "0010_exclusion_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)
_NAME = sa.String(length=255)


def upgrade() -> None:
    op.create_table(
        "summary_picks",
        sa.Column("class_date", sa.Date(), nullable=False),
        sa.Column("writer", _NAME, nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column("announced", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("picked_at", _AT, nullable=False),
        sa.Column("changed_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("class_date", name=op.f("pk_summary_picks")),
    )
    op.create_table(
        "summary_excuses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("class_date", sa.Date(), nullable=False),
        sa.Column("username", _NAME, nullable=False),
        sa.Column("by", _NAME, nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summary_excuses")),
        sa.UniqueConstraint("class_date", "username", name=op.f("uq_summary_excuses_class_date_username")),
    )
    op.create_table(
        "summary_swaps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("class_date", sa.Date(), nullable=False),
        sa.Column("asker", _NAME, nullable=False),
        sa.Column("other", _NAME, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("asked_at", _AT, nullable=False),
        sa.Column("answered_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summary_swaps")),
    )
    op.create_index("ix_summary_swaps_class_date", "summary_swaps", ["class_date"])
    op.create_table(
        "summary_pages",
        sa.Column("slug", sa.String(length=512), nullable=False),
        sa.Column("class_date", sa.Date(), nullable=False),
        sa.Column("author", _NAME, nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_summary_pages")),
    )
    op.create_index("ix_summary_pages_class_date", "summary_pages", ["class_date"])


def downgrade() -> None:
    op.drop_index("ix_summary_pages_class_date", table_name="summary_pages")
    op.drop_table("summary_pages")
    op.drop_index("ix_summary_swaps_class_date", table_name="summary_swaps")
    op.drop_table("summary_swaps")
    op.drop_table("summary_excuses")
    op.drop_table("summary_picks")
