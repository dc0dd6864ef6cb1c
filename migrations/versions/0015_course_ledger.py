"""the roster, the ledger and its transitions carry their course

Revision ID: 0015_course_ledger
Revises: 0014_leases

One deployment serves several courses from one database (`storage/courses.py`). Every
row of `students`, `hand_ins`, `overrides`, `presentations`, `wiki_posts`,
`group_papers`, `audit`, `exclusion_changes` and `warning_changes` gets `course`,
filled with course one (the id `idlbot migrate` passes, else "main").

Keys that were unique within the one course now start with it: a student's Mattermost
and GitLab usernames (one person may take two courses), a wiki page's (kind, slug), a
team's group paper. The students' lookup indexes (group, cluster, team) and the audit's
by time start with it too. Keys on the surrogate `students.id` (hand-ins, overrides,
presentations, a student's paper, the transitions' (student_id, seq)) stay: that id is
unique across courses already.

Hand-written and portable like 0010-0014: no server defaults left behind, names as the
models' naming convention makes them; SQLite rebuilds each table in batch mode (the
parents of foreign keys with their rows set aside, see `_rows_set_aside`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

from idlbot.storage.courses import add_course_column, course_one

revision: str = "0015_course_ledger"
down_revision: str | Sequence[str] | None = "0014_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = (
    "students", "hand_ins", "overrides", "presentations", "wiki_posts", "group_papers", "audit",
    "exclusion_changes", "warning_changes",
)  # fmt: skip

_PARENTS = ("students", "audit")  # what the others' foreign keys point at

# (table, old unique columns, new unique columns)
_UNIQUE = (
    ("students", ("mattermost",), ("course", "mattermost")),
    ("students", ("gitlab",), ("course", "gitlab")),
    ("wiki_posts", ("kind", "slug"), ("course", "kind", "slug")),
    ("group_papers", ("team_id",), ("course", "team_id")),
)
# (table, old index columns, new index columns)
_INDEXES = (
    ("students", ("group_id",), ("course", "group_id")),
    ("students", ("cluster",), ("course", "cluster")),
    ("students", ("team_id",), ("course", "team_id")),
    ("audit", ("at",), ("course", "at")),
)


def _name(prefix: str, table: str, columns: Sequence[str]) -> str:
    return f"{prefix}_{table}_{'_'.join(columns)}"


def _swap_keys(table: str, old: int, new: int) -> None:
    """Replace `table`'s keys: from the columns at tuple index `old` to those at `new`."""
    uniques = [cols for t, *cols in _UNIQUE if t == table]
    indexes = [cols for t, *cols in _INDEXES if t == table]
    if not uniques and not indexes:
        return
    with op.batch_alter_table(table) as batch:
        for cols in uniques:
            batch.drop_constraint(op.f(_name("uq", table, cols[old])), type_="unique")
            batch.create_unique_constraint(op.f(_name("uq", table, cols[new])), list(cols[new]))
        for cols in indexes:
            batch.drop_index(op.f(_name("ix", table, cols[old])))
            batch.create_index(op.f(_name("ix", table, cols[new])), list(cols[new]))


@contextmanager
def _rows_set_aside(table: str) -> Iterator[None]:
    """SQLite: rebuild a table that other tables' foreign keys point at without its rows.

    Batch mode copies the rows into a new table and drops the old one; with
    ``foreign_keys=ON`` (every connection, `storage/db.py`) that drop counts every
    referencing row as a violation, and inside the migration's transaction the pragma
    cannot be switched off. So the rows wait in a temporary table, their deletion is
    counted as deferred violations, and inserting them into the rebuilt table (with
    `course` = course one if it has the column now) settles exactly those again.
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or table not in _PARENTS:
        yield
        return
    aside = f"_aside_{table}"
    op.execute("PRAGMA defer_foreign_keys = ON")  # until the commit
    op.execute(f"CREATE TEMP TABLE {aside} AS SELECT * FROM {table}")
    op.execute(f"DELETE FROM {table}")
    yield
    kept = set(bind.execute(sa.text(f"SELECT * FROM {aside} LIMIT 0")).keys())
    columns = [c["name"] for c in sa.inspect(bind).get_columns(table)]
    values = [c if c in kept else ":course" for c in columns]  # only `course` can be new
    bind.execute(
        sa.text(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM {aside}"),
        {"course": course_one()} if ":course" in values else {},
    )
    op.execute(f"DROP TABLE {aside}")


def upgrade() -> None:
    for table in _TABLES:
        with _rows_set_aside(table):
            add_course_column(table)
            _swap_keys(table, 0, 1)


def downgrade() -> None:
    """Back to one course's keys and no `course`. Fails (and changes nothing: one
    transaction) if two courses' rows collide on an old key, e.g. one Mattermost
    username rostered in two courses: drop all but one course's rows first."""
    for table in reversed(_TABLES):
        with _rows_set_aside(table):
            _swap_keys(table, 1, 0)
            with op.batch_alter_table(table) as batch:
                batch.drop_column("course")
