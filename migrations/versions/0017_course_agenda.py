"""course on the agenda, summary-rota and presenter-rota tables

Revision ID: 0017_course_agenda
Revises: 0016_course_reminders

One database serves several courses (issue 15). The class agenda (`agenda_frozen`,
`agenda_done`, `agenda_skips`), the session-summary rota (`summary_picks`,
`summary_excuses`, `summary_swaps`, `summary_pages`) and the team presenter rota
(`presenter_proposals`, `team_presentations`) get `course`, filled with course one
(`courses.course_one()`) on every existing row, and `course` goes first in every key
that was unique within one course: two courses hold classes on the same date, each has
its own GitLab project (so its own issue iids and wiki slugs) and its own team ids.
Indexes for lookups by class date start with `course` too. Surrogate ids stay.

Hand-written and portable like 0010: no server defaults once filled, names as the
models' naming convention makes them; SQLite changes keys in batch mode (a table copy).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from idlbot.storage.courses import add_course_column

revision: str = "0017_course_agenda"
down_revision: str | Sequence[str] | None = "0016_course_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PRIMARY: dict[str, list[str]] = {
    "agenda_frozen": ["class_date"],
    "agenda_done": ["iid"],
    "agenda_skips": ["class_date", "iid"],
    "summary_picks": ["class_date"],
    "summary_pages": ["slug"],
}
"""Tables whose primary key gains `course` in front: their old key columns."""

_UNIQUE: dict[str, list[str]] = {
    "summary_excuses": ["class_date", "username"],
    "presenter_proposals": ["team_id", "class_day"],
    "team_presentations": ["team_id", "class_day", "student_id"],
}
"""Tables whose UNIQUE constraint gains `course` in front: its old columns."""

_INDEXED = ("summary_swaps", "summary_pages")
"""Tables with an index on `class_date` that becomes one on (course, class_date)."""

_TABLES = ("summary_swaps", *_PRIMARY, *_UNIQUE)


def _uq(table: str, columns: list[str]) -> str:
    return f"uq_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    for table in dict.fromkeys(_TABLES):
        add_course_column(table)
    for table, columns in _PRIMARY.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"pk_{table}"), type_="primary")
            batch.create_primary_key(op.f(f"pk_{table}"), ["course", *columns])
    for table, columns in _UNIQUE.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(_uq(table, columns)), type_="unique")
            batch.create_unique_constraint(op.f(_uq(table, ["course", *columns])), ["course", *columns])
    for table in _INDEXED:
        op.drop_index(f"ix_{table}_class_date", table_name=table)
        op.create_index(f"ix_{table}_course_class_date", table, ["course", "class_date"])


def downgrade() -> None:
    """Back to one course's keys. Fails on a unique violation when two courses' rows share
    an old key (the same class date, iid, slug or team and day): delete one course's rows
    first. Rows of every course stay otherwise, without saying whose they were."""
    for table in _INDEXED:
        op.drop_index(f"ix_{table}_course_class_date", table_name=table)
        op.create_index(f"ix_{table}_class_date", table, ["class_date"])
    for table, columns in _UNIQUE.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(_uq(table, ["course", *columns])), type_="unique")
            batch.create_unique_constraint(op.f(_uq(table, columns)), columns)
            batch.drop_column("course")
    for table, columns in _PRIMARY.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"pk_{table}"), type_="primary")
            batch.create_primary_key(op.f(f"pk_{table}"), columns)
            batch.drop_column("course")
    with op.batch_alter_table("summary_swaps") as batch:
        batch.drop_column("course")
