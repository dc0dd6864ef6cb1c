"""reminders, mutes, calendar tokens and announcements belong to a course

Revision ID: 0016_course_reminders
Revises: 0015_course_ledger

One deployment serves several courses from one database (storage/courses.py). The
reminder tables and `announcements` get `course`, filled with course one on every
existing row. Keys that were unique within the one course now include it:

* `reminder_firings`: the claim is unique per (course, key), and its lookup index by
  `fire_at` starts with the course;
* `reminder_mutes`: primary key (course, user_id, kind): each course is muted separately;
* `calendar_tokens`: primary key (course, user_id): a token per course. The token stays
  unique across the database, so a feed URL names its course.

`reminder_custom` and `announcements` keep their surrogate ids. `maint_windows` is not
touched: the cluster, and so its maintenance windows, belong to the deployment.

Hand-written and portable like 0010-0014: names as the models' naming convention makes
them; SQLite changes its keys in batch mode (a copied table).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from idlbot.storage.courses import add_course_column

revision: str = "0016_course_reminders"
down_revision: str | Sequence[str] | None = "0015_course_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("reminder_custom", "reminder_firings", "reminder_mutes", "calendar_tokens", "announcements")


def upgrade() -> None:
    for table in _TABLES:
        add_course_column(table)
    op.drop_index(op.f("ix_reminder_firings_fire_at"), table_name="reminder_firings")
    op.create_index(
        op.f("ix_reminder_firings_course_fire_at"), "reminder_firings", ["course", "fire_at"], unique=False
    )
    with op.batch_alter_table("reminder_firings") as batch:
        batch.drop_constraint(op.f("uq_reminder_firings_key"), type_="unique")
        batch.create_unique_constraint(op.f("uq_reminder_firings_course_key"), ["course", "key"])
    with op.batch_alter_table("reminder_mutes") as batch:
        batch.drop_constraint(op.f("pk_reminder_mutes"), type_="primary")
        batch.create_primary_key(op.f("pk_reminder_mutes"), ["course", "user_id", "kind"])
    with op.batch_alter_table("calendar_tokens") as batch:
        batch.drop_constraint(op.f("pk_calendar_tokens"), type_="primary")
        batch.create_primary_key(op.f("pk_calendar_tokens"), ["course", "user_id"])


def downgrade() -> None:
    """Back to one course: the column goes, and with it which course a row was of. Fails
    (on the old unique key or primary key) when two courses have a row under the same
    firing key, the same user's mute of a kind, or the same user's calendar token: the
    old schema cannot hold both, and choosing one to drop is not the migration's call."""
    with op.batch_alter_table("calendar_tokens") as batch:
        batch.drop_constraint(op.f("pk_calendar_tokens"), type_="primary")
        batch.create_primary_key(op.f("pk_calendar_tokens"), ["user_id"])
        batch.drop_column("course")
    with op.batch_alter_table("reminder_mutes") as batch:
        batch.drop_constraint(op.f("pk_reminder_mutes"), type_="primary")
        batch.create_primary_key(op.f("pk_reminder_mutes"), ["user_id", "kind"])
        batch.drop_column("course")
    op.drop_index(op.f("ix_reminder_firings_course_fire_at"), table_name="reminder_firings")
    with op.batch_alter_table("reminder_firings") as batch:
        batch.drop_constraint(op.f("uq_reminder_firings_course_key"), type_="unique")
        batch.create_unique_constraint(op.f("uq_reminder_firings_key"), ["key"])
        batch.drop_column("course")
    op.create_index(op.f("ix_reminder_firings_fire_at"), "reminder_firings", ["fire_at"], unique=False)
    for table in ("announcements", "reminder_custom"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("course")
