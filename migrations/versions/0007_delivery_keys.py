"""one table of handled webhook deliveries for every path; DM channel ids

Revision ID: 0007_delivery_keys
Revises: 0006_jobs

`delivery_keys(scope, key, seen_at)` replaces the ledger's `seen_events` and the agenda's
`agenda_hook_keys`: their rows are copied under the scopes the two paths now use
("gitlab:ledger", "gitlab:agenda"), so a delivery handled before the upgrade is still
dropped when GitLab resends it afterwards. `dm_channels(bot_user_id, user_id, channel_id)`
keeps the bot's DM channel per user across restarts.

The downgrade recreates both old tables and copies each scope's rows back (rows of any
other scope have no old table to go to and are dropped with the new one).

Hand-written and portable like 0001: no server defaults, constraint names as the naming
convention makes them, DateTime(timezone=True) for UtcDateTime columns. The copies are
INSERT … SELECT built with SQLAlchemy Core, so the same statement runs on SQLite and
PostgreSQL, and the scope is a literal in the SELECT (asyncpg cannot type a bare
parameter there).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_delivery_keys"
down_revision: str | Sequence[str] | None = "0006_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (old table, scope of its rows in delivery_keys); the scopes are the services' HOOK_SCOPE
OLD_TABLES = (("seen_events", "gitlab:ledger"), ("agenda_hook_keys", "gitlab:agenda"))

_delivery_keys = sa.table(
    "delivery_keys", sa.column("scope", sa.String), sa.column("key", sa.String), sa.column("seen_at")
)


def _old(name: str) -> sa.TableClause:
    return sa.table(name, sa.column("key", sa.String), sa.column("seen_at"))


def _create_old(name: str) -> None:
    op.create_table(
        name,
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    op.create_table(
        "delivery_keys",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_delivery_keys")),
    )
    op.create_index("ix_delivery_keys_seen_at", "delivery_keys", ["seen_at"], unique=False)
    op.create_table(
        "dm_channels",
        sa.Column("bot_user_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("channel_id", sa.String(length=26), nullable=False),
        sa.PrimaryKeyConstraint("bot_user_id", "user_id", name=op.f("pk_dm_channels")),
    )
    for name, scope in OLD_TABLES:
        old = _old(name)
        rows = sa.select(sa.literal_column(f"'{scope}'"), old.c.key, old.c.seen_at)
        op.execute(sa.insert(_delivery_keys).from_select(["scope", "key", "seen_at"], rows))
        op.drop_table(name)


def downgrade() -> None:
    for name, scope in OLD_TABLES:
        _create_old(name)
        keys = _delivery_keys
        rows = sa.select(keys.c.key, keys.c.seen_at).where(keys.c.scope == sa.literal_column(f"'{scope}'"))
        op.execute(sa.insert(_old(name)).from_select(["key", "seen_at"], rows))
    op.drop_table("dm_channels")
    op.drop_index("ix_delivery_keys_seen_at", table_name="delivery_keys")
    op.drop_table("delivery_keys")
