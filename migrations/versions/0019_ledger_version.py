"""ledger_version: one counter every ledger write raises

Revision ID: 0019_ledger_version
Revises: 0018_course_choices

`/idl status` and `/idl deadlines` answer from in-memory copies of the ledger and roster
(`storage/changes.py`, issue 13). A write transaction that changes a table those copies
are built from adds 1 to `ledger_version.n` before it commits, so any process sees, by
one small read, that its copies are stale. One row, id 1, starting at 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_ledger_version"
down_revision: str | Sequence[str] | None = "0018_course_choices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "ledger_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_version")),
    )
    op.bulk_insert(table, [{"id": 1, "n": 0}])


def downgrade() -> None:
    op.drop_table("ledger_version")
