"""reminder rules, occurrences, deliveries, mutes, calendar tokens (issue 4)

Revision ID: 0003_reminders
Revises: 0002_qualification
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401 - used once the tables are written
from alembic import op  # noqa: F401

revision: str = "0003_reminders"
down_revision: str | Sequence[str] | None = "0002_qualification"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
