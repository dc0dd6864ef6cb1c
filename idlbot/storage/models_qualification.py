"""Tables of the qualification ledger: roster, GitLab facts, staff records, audit.

The split follows where a fact comes from, because each source is corrected differently:

* ``hand_ins`` and ``wiki_posts`` are derived from GitLab and can be rebuilt by a
  reconciliation at any time; staff never edit them.
* ``overrides``, ``presentations`` and ``group_papers`` are staff decisions; each change
  writes an ``audit`` row in the same transaction, so the trail cannot miss one.

Which webhook deliveries were handled already lives in the shared ``delivery_keys``
table (``models.py``), with the agenda's.

Rows are never deleted: a student who leaves is ``active = false``, so the audit trail
keeps pointing at a real row. Same conventions as ``models.py``: no server defaults,
names from the shared naming convention, instants as ``UtcDateTime``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idlbot.storage.courses import course_column
from idlbot.storage.models import MM_ID, Base, UtcDateTime

__all__ = [
    "AuditRow",
    "GroupPaperRow",
    "HandInRow",
    "OverrideRow",
    "PresentationRow",
    "StudentRow",
    "WikiPostRow",
]

USERNAME = String(255)  # GitLab allows 255; Mattermost 22, cluster (POSIX) 32
IDENT = String(64)  # assignment, exercise group and team ids from the config
_STUDENT_FK = "students.id"


class StudentRow(Base):
    """A roster entry, keyed by course and Mattermost username (what every chat command
    names). The surrogate ``id`` is unique across courses, so the rows keyed by it (every
    other table here) need no course in their keys; they carry it all the same."""

    __tablename__ = "students"
    __table_args__ = (
        UniqueConstraint("course", "mattermost"),
        # UNIQUE with NULLs distinct: many students may not have told us their GitLab name
        # yet. Per course: one GitLab user may take two courses.
        UniqueConstraint("course", "gitlab"),
        Index("ix_students_course_group_id", "course", "group_id"),
        Index("ix_students_course_cluster", "course", "cluster"),
        # a team's members: the status read, the rota
        Index("ix_students_course_team_id", "course", "team_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    mattermost: Mapped[str] = mapped_column(USERNAME)
    mattermost_id: Mapped[str | None] = mapped_column(MM_ID)
    gitlab: Mapped[str | None] = mapped_column(USERNAME)
    cluster: Mapped[str | None] = mapped_column(USERNAME)
    group_id: Mapped[str | None] = mapped_column(IDENT)
    team_id: Mapped[str | None] = mapped_column(IDENT)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class HandInRow(Base):
    """The first time GitLab received a tag named after the assignment, per student.

    One row per (student, assignment); a later push of the same tag never moves
    ``pushed_at`` forward (see ``SqlLedger.record_tag_push``).
    """

    __tablename__ = "hand_ins"
    __table_args__ = (UniqueConstraint("student_id", "assignment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    student_id: Mapped[int] = mapped_column(ForeignKey(_STUDENT_FK))
    assignment_id: Mapped[str] = mapped_column(IDENT)
    repo_path: Mapped[str] = mapped_column(String(512))
    pushed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    pusher: Mapped[str] = mapped_column(USERNAME)


class OverrideRow(Base):
    """A staff decision on one hand-in; the current one per (student, assignment).

    Earlier decisions live in ``audit`` (before → after)."""

    __tablename__ = "overrides"
    __table_args__ = (
        UniqueConstraint("student_id", "assignment_id"),
        CheckConstraint("status IN ('on-time', 'late', 'missing', 'excused')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    student_id: Mapped[int] = mapped_column(ForeignKey(_STUDENT_FK))
    assignment_id: Mapped[str] = mapped_column(IDENT)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(USERNAME)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class PresentationRow(Base):
    """The outcome of presenting one assignment; one per (student, assignment).

    Recording again replaces the outcome (a correction, audited), so a typo cannot
    add a second fail for the same solution."""

    __tablename__ = "presentations"
    __table_args__ = (
        UniqueConstraint("student_id", "assignment_id"),
        CheckConstraint("outcome IN ('ok', 'fail')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    student_id: Mapped[int] = mapped_column(ForeignKey(_STUDENT_FK))
    assignment_id: Mapped[str] = mapped_column(IDENT)
    outcome: Mapped[str] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(USERNAME)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class WikiPostRow(Base):
    """A wiki page that counts for one student: a blog post or a team progress report."""

    __tablename__ = "wiki_posts"
    __table_args__ = (
        UniqueConstraint("course", "kind", "slug"),
        CheckConstraint("kind IN ('blog', 'report')", name="kind"),
        Index("ix_wiki_posts_student_id", "student_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    kind: Mapped[str] = mapped_column(String(8))
    slug: Mapped[str] = mapped_column(String(1024))
    student_id: Mapped[int] = mapped_column(ForeignKey(_STUDENT_FK))
    team_id: Mapped[str | None] = mapped_column(IDENT)
    author: Mapped[str] = mapped_column(USERNAME)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GroupPaperRow(Base):
    """Whether the group paper counts: for a whole team, or for one student (which wins,
    e.g. a member who did not contribute)."""

    __tablename__ = "group_papers"
    __table_args__ = (
        UniqueConstraint("course", "team_id"),  # team ids are the course config's
        CheckConstraint(
            "(team_id IS NOT NULL AND student_id IS NULL) OR (team_id IS NULL AND student_id IS NOT NULL)",
            name="one_subject",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    team_id: Mapped[str | None] = mapped_column(IDENT)
    student_id: Mapped[int | None] = mapped_column(ForeignKey(_STUDENT_FK), unique=True)
    done: Mapped[bool] = mapped_column(Boolean)
    by: Mapped[str] = mapped_column(USERNAME)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditRow(Base):
    """One change made by a person: who, when, what, before → after, why."""

    __tablename__ = "audit"
    __table_args__ = (
        Index("ix_audit_student_id", "student_id"),
        Index("ix_audit_course_at", "course", "at"),  # a course's trail, newest first
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = course_column()
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(USERNAME)
    action: Mapped[str] = mapped_column(String(32))
    student_id: Mapped[int | None] = mapped_column(ForeignKey(_STUDENT_FK))
    team_id: Mapped[str | None] = mapped_column(IDENT)
    assignment_id: Mapped[str | None] = mapped_column(IDENT)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
