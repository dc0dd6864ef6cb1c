"""GPU job notifications: notices, MailProg events, opt-in settings, poll cursor

Revision ID: 0006_jobs
Revises: 0005_announce

Hand-written and portable like 0001: no server defaults, constraint names as the
naming convention makes them, DateTime(timezone=True) for UtcDateTime columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_jobs"
down_revision: str | Sequence[str] | None = "0005_announce"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_notices",
        sa.Column("cluster", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("submit", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("cluster_user", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("outbox_key", sa.String(length=255), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cluster", "job_id", "submit", name=op.f("pk_job_notices")),
    )
    op.create_table(
        "job_events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("cluster", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_job_events")),
    )
    op.create_table(
        "job_notify_settings",
        sa.Column("cluster_user", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cluster_user", name=op.f("pk_job_notify_settings")),
    )
    op.create_table(
        "job_poll_cursors",
        sa.Column("cluster", sa.String(length=64), nullable=False),
        sa.Column("polled_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cluster", name=op.f("pk_job_poll_cursors")),
    )


def downgrade() -> None:
    op.drop_table("job_poll_cursors")
    op.drop_table("job_notify_settings")
    op.drop_table("job_events")
    op.drop_table("job_notices")
