"""reminder rules, occurrences, deliveries, mutes, calendar tokens

Revision ID: 0003_reminders
Revises: 0002_qualification

Hand-written and portable like 0001: no server defaults, constraint names as the
naming convention makes them, DateTime(timezone=True) for UtcDateTime columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_reminders"
down_revision: str | Sequence[str] | None = "0002_qualification"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder_custom",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.CheckConstraint("kind IN ('once', 'weekly')", name=op.f("ck_reminder_custom_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_custom")),
    )
    op.create_table(
        "reminder_firings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("fire_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outbox_key", sa.String(length=255), nullable=True),
        sa.Column("fanout", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('planned', 'claimed', 'sent', 'skipped', 'failed')",
            name=op.f("ck_reminder_firings_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_firings")),
        sa.UniqueConstraint("key", name=op.f("uq_reminder_firings_key")),
    )
    op.create_index("ix_reminder_firings_fire_at", "reminder_firings", ["fire_at"], unique=False)
    op.create_table(
        "reminder_mutes",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("muted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_reminder_mutes")),
    )
    op.create_table(
        "calendar_tokens",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_calendar_tokens")),
        sa.UniqueConstraint("token", name=op.f("uq_calendar_tokens_token")),
    )


def downgrade() -> None:
    op.drop_table("calendar_tokens")
    op.drop_table("reminder_mutes")
    op.drop_index("ix_reminder_firings_fire_at", table_name="reminder_firings")
    op.drop_table("reminder_firings")
    op.drop_table("reminder_custom")
