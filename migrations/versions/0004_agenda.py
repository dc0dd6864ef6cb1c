"""class agenda: frozen agendas, done and skipped questions, hook keys

Revision ID: 0004_agenda
Revises: 0003_reminders

Hand-written and portable like 0001: no server defaults, constraint names as the
naming convention makes them, DateTime(timezone=True) for UtcDateTime columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_agenda"
down_revision: str | Sequence[str] | None = "0003_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agenda_frozen",
        sa.Column("class_date", sa.Date(), nullable=False),
        sa.Column("cutoff_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("ranking", sa.JSON(), nullable=False),
        sa.Column("labeled", sa.JSON(), nullable=False),
        sa.Column("post_revision", sa.Integer(), nullable=False),
        sa.Column("wiki_revision", sa.Integer(), nullable=False),
        sa.Column("labels_revision", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("class_date", name=op.f("pk_agenda_frozen")),
    )
    op.create_table(
        "agenda_done",
        sa.Column("iid", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("iid", name=op.f("pk_agenda_done")),
    )
    op.create_table(
        "agenda_skips",
        sa.Column("class_date", sa.Date(), nullable=False),
        sa.Column("iid", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("skipped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("skipped_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("class_date", "iid", name=op.f("pk_agenda_skips")),
    )
    op.create_table(
        "agenda_hook_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_agenda_hook_keys")),
    )


def downgrade() -> None:
    op.drop_table("agenda_hook_keys")
    op.drop_table("agenda_skips")
    op.drop_table("agenda_done")
    op.drop_table("agenda_frozen")
