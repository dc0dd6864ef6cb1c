"""custom reminders record their creator's Mattermost user id

Revision ID: 0009_reminder_creator_id
Revises: 0007_delivery_keys

Who may cancel or test a custom reminder is decided by its creator (tutors their own,
instructors all), and the creator is compared by Mattermost user id: a username can be
renamed, and a freed name taken by someone else, an id never. `created_by` (the
username) stays for display.

Rows stored before this revision get NULL: the id of their creator is not known to the
database (only Mattermost could map the name, and a migration does not call it), so
those reminders can be changed by instructors only.

Hand-written and portable like 0001: a nullable column, no server default.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_reminder_creator_id"
down_revision: str | Sequence[str] | None = "0007_delivery_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_custom") as batch:
        batch.add_column(sa.Column("created_by_id", sa.String(length=26), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reminder_custom") as batch:
        batch.drop_column("created_by_id")
