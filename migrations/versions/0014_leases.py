"""leases for singleton passes; outbox claims that expire

Revision ID: 0014_leases
Revises: 0013_warning_changes

Several `idlbot run` replicas may share one PostgreSQL. `leases` holds one row per
singleton periodic pass: the replica running it (`holder`) and until when
(`expires_at`); another replica takes the pass over once the holder stops renewing
(`storage/leases.py`). The outbox gets `claimed_by` and `claimed_until`: a row claimed
by a replica that died is taken over by another after `claimed_until` (and looked up by
key before it is sent again). Both columns are NULL on existing rows, which keeps the
old meaning (in flight until the next start).

Hand-written and portable like 0010: no server defaults, names as the models' naming
convention makes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_leases"
down_revision: str | Sequence[str] | None = "0013_warning_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("acquired_at", _AT, nullable=False),
        sa.Column("expires_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.add_column("outbox", sa.Column("claimed_by", sa.String(length=128), nullable=True))
    op.add_column("outbox", sa.Column("claimed_until", _AT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
    op.drop_table("leases")
