"""roster, ledger, audit trail, presentations, wiki contributions

Revision ID: 0002_qualification
Revises: 0001_foundation

Written by hand to be portable, like 0001: no server defaults, constraint names spelled
out with ``op.f`` exactly as the models' naming convention produces them, and
``DateTime(timezone=True)`` (naive UTC on SQLite, see UtcDateTime). Tables are created
parents first and dropped children first, so the foreign keys hold on PostgreSQL and on
SQLite with ``PRAGMA foreign_keys=ON``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_qualification"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USER = sa.String(length=255)
_IDENT = sa.String(length=64)
_AT = sa.DateTime(timezone=True)


def _student_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["student_id"], ["students.id"], name=op.f(f"fk_{table}_student_id_students")
    )


def upgrade() -> None:
    op.create_table(
        "students",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mattermost", _USER, nullable=False),
        sa.Column("mattermost_id", sa.String(length=26), nullable=True),
        sa.Column("gitlab", _USER, nullable=True),
        sa.Column("cluster", _USER, nullable=True),
        sa.Column("group_id", _IDENT, nullable=True),
        sa.Column("team_id", _IDENT, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_students")),
        sa.UniqueConstraint("mattermost", name=op.f("uq_students_mattermost")),
        sa.UniqueConstraint("gitlab", name=op.f("uq_students_gitlab")),
    )
    op.create_index("ix_students_group_id", "students", ["group_id"], unique=False)
    op.create_index("ix_students_cluster", "students", ["cluster"], unique=False)

    op.create_table(
        "hand_ins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", _IDENT, nullable=False),
        sa.Column("repo_path", sa.String(length=512), nullable=False),
        sa.Column("pushed_at", _AT, nullable=False),
        sa.Column("pusher", _USER, nullable=False),
        _student_fk("hand_ins"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hand_ins")),
        sa.UniqueConstraint("student_id", "assignment_id", name=op.f("uq_hand_ins_student_id_assignment_id")),
    )

    op.create_table(
        "overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", _IDENT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", _USER, nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.CheckConstraint(
            "status IN ('on-time', 'late', 'missing', 'excused')", name=op.f("ck_overrides_status")
        ),
        _student_fk("overrides"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overrides")),
        sa.UniqueConstraint(
            "student_id", "assignment_id", name=op.f("uq_overrides_student_id_assignment_id")
        ),
    )

    op.create_table(
        "presentations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", _IDENT, nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("by", _USER, nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.CheckConstraint("outcome IN ('ok', 'fail')", name=op.f("ck_presentations_outcome")),
        _student_fk("presentations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presentations")),
        sa.UniqueConstraint(
            "student_id", "assignment_id", name=op.f("uq_presentations_student_id_assignment_id")
        ),
    )

    op.create_table(
        "wiki_posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("slug", sa.String(length=1024), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("team_id", _IDENT, nullable=True),
        sa.Column("author", _USER, nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.CheckConstraint("kind IN ('blog', 'report')", name=op.f("ck_wiki_posts_kind")),
        _student_fk("wiki_posts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wiki_posts")),
        sa.UniqueConstraint("kind", "slug", name=op.f("uq_wiki_posts_kind_slug")),
    )
    op.create_index("ix_wiki_posts_student_id", "wiki_posts", ["student_id"], unique=False)

    op.create_table(
        "group_papers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", _IDENT, nullable=True),
        sa.Column("student_id", sa.Integer(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("by", _USER, nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.CheckConstraint(
            "(team_id IS NOT NULL AND student_id IS NULL) OR (team_id IS NULL AND student_id IS NOT NULL)",
            name=op.f("ck_group_papers_one_subject"),
        ),
        _student_fk("group_papers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_papers")),
        sa.UniqueConstraint("team_id", name=op.f("uq_group_papers_team_id")),
        sa.UniqueConstraint("student_id", name=op.f("uq_group_papers_student_id")),
    )

    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("actor", _USER, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=True),
        sa.Column("team_id", _IDENT, nullable=True),
        sa.Column("assignment_id", _IDENT, nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        _student_fk("audit"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
    )
    op.create_index("ix_audit_student_id", "audit", ["student_id"], unique=False)
    op.create_index("ix_audit_at", "audit", ["at"], unique=False)

    op.create_table(
        "seen_events",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("seen_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_seen_events")),
    )


def downgrade() -> None:
    op.drop_table("seen_events")
    op.drop_index("ix_audit_at", table_name="audit")
    op.drop_index("ix_audit_student_id", table_name="audit")
    op.drop_table("audit")
    op.drop_table("group_papers")
    op.drop_index("ix_wiki_posts_student_id", table_name="wiki_posts")
    op.drop_table("wiki_posts")
    op.drop_table("presentations")
    op.drop_table("overrides")
    op.drop_table("hand_ins")
    op.drop_index("ix_students_cluster", table_name="students")
    op.drop_index("ix_students_group_id", table_name="students")
    op.drop_table("students")
