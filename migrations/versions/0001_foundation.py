"""foundation: outbox, handled_posts, channel_cursors

Revision ID: 0001_foundation
Revises:
Create Date: 2024-12-01

Written by hand to be portable: no server defaults (SQLAlchemy fills defaults on
insert), constraint names spelled out with ``op.f`` exactly as the models' naming
convention produces them, and ``DateTime(timezone=True)``, which is TIMESTAMP WITH
TIME ZONE on PostgreSQL and plain DATETIME (naive UTC, see UtcDateTime) on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_foundation"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("channel_id", sa.String(length=26), nullable=True),
        sa.Column("dm_user_id", sa.String(length=26), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("props", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("root_id", sa.String(length=26), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("post_id", sa.String(length=26), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(channel_id IS NOT NULL AND dm_user_id IS NULL)"
            " OR (channel_id IS NULL AND dm_user_id IS NOT NULL)",
            name=op.f("ck_outbox_one_target"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed')",
            name=op.f("ck_outbox_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    op.create_index("ix_outbox_state_next_attempt_at", "outbox", ["state", "next_attempt_at"], unique=False)
    op.create_index("ix_outbox_channel_id_id", "outbox", ["channel_id", "id"], unique=False)
    op.create_index("ix_outbox_dm_user_id_id", "outbox", ["dm_user_id", "id"], unique=False)

    op.create_table(
        "handled_posts",
        sa.Column("post_id", sa.String(length=26), nullable=False),
        sa.Column("channel_id", sa.String(length=26), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_handled_posts")),
    )

    op.create_table(
        "channel_cursors",
        sa.Column("channel_id", sa.String(length=26), nullable=False),
        sa.Column("last_post_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_channel_cursors")),
    )


def downgrade() -> None:
    op.drop_table("channel_cursors")
    op.drop_table("handled_posts")
    op.drop_index("ix_outbox_dm_user_id_id", table_name="outbox")
    op.drop_index("ix_outbox_channel_id_id", table_name="outbox")
    op.drop_index("ix_outbox_state_next_attempt_at", table_name="outbox")
    op.drop_table("outbox")
