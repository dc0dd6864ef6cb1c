"""The roster repository: students and their usernames on each system.

Keyed by course and Mattermost username, the name every chat command uses. GitLab
usernames are unique in a course too, because a hand-in is attributed by them: two
students sharing one would both get every hand-in of either (one person in two courses
is two students, one per course). Rows are never deleted (``active = false`` instead),
so the audit trail and the ledger keep their subject.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from idlbot.domain.audit import roster_state
from idlbot.domain.course import DEFAULT_COURSE_ID
from idlbot.domain.ledger import Student
from idlbot.domain.roster import RosterChanges, RosterConflict
from idlbot.domain.usernames import normalize_username
from idlbot.ports.qualification import Progress, RosterCounts, UpsertResult
from idlbot.storage._dialect import Database, insert_for, read, transaction
from idlbot.storage.models_qualification import AuditRow, StudentRow

__all__ = ["SqlRoster", "student_from_row"]

_T = StudentRow.__table__
_FIELDS = ("gitlab", "cluster", "group_id", "team_id")
_CHUNK = 250  # rows per executemany, and how often the progress callback runs


def student_from_row(row: Row[Any] | Mapping[Any, Any]) -> Student:
    m = row._mapping if isinstance(row, Row) else row
    return Student(
        mattermost=m["mattermost"],
        gitlab=m["gitlab"],
        cluster=m["cluster"],
        group_id=m["group_id"],
        team_id=m["team_id"],
        mattermost_id=m["mattermost_id"],
        active=bool(m["active"]),
    )


def _values(student: Student) -> dict[str, Any]:
    return {name: getattr(student, name) for name in _FIELDS}


def _differs(existing: Mapping[str, Any], student: Student) -> bool:
    return not existing["active"] or any(existing[f] != getattr(student, f) for f in _FIELDS)


async def _check_gitlab_clashes(conn: AsyncConnection, course: str, wanted: Mapping[str, str | None]) -> None:
    """Raise RosterConflict if a wanted GitLab name belongs to a student of `course` who
    keeps it (a student of another course may have it: that is the same person).

    ``wanted`` maps Mattermost username → GitLab name for the students being written;
    a name held by one of them is free if that student gives it up in the same write
    (a swap), so only holders outside ``wanted`` (or keeping theirs) clash."""
    names = {g for g in wanted.values() if g is not None}
    if not names:
        return
    stmt = select(StudentRow.mattermost, StudentRow.gitlab).where(
        StudentRow.course == course, StudentRow.gitlab.in_(names)
    )
    clashes: dict[str, str] = {}
    owner_of = {g: mm for mm, g in wanted.items() if g is not None}
    for holder, gitlab in (await conn.execute(stmt)).all():
        claimant = owner_of[str(gitlab)]
        if holder != claimant and (holder not in wanted or wanted[holder] == gitlab):
            clashes[claimant] = f"GitLab username {gitlab!r} already belongs to @{holder}"
    if clashes:
        raise RosterConflict(clashes)


class SqlRoster:
    """One course's roster on SQLAlchemy Core. Each method is one transaction; returns
    domain values."""

    def __init__(self, db: Database, *, course: str = DEFAULT_COURSE_ID) -> None:
        self._db = db
        self._course = course
        self._mine = StudentRow.course == course

    async def upsert(self, student: Student, *, now: datetime) -> UpsertResult:
        """Create or update one entry (also re-activates it). Race-safe: ON CONFLICT."""
        counts = await self.bulk_upsert([student], now=now)
        return "created" if counts.created else "updated" if counts.updated else "unchanged"

    async def bulk_upsert(
        self, students: Sequence[Student], *, now: datetime, progress: Progress | None = None
    ) -> RosterCounts:
        """Write many entries in one transaction: all or nothing, idempotent.

        Unchanged rows are not written (``updated_at`` keeps meaning "last real change").
        GitLab names changing hands inside the batch are first cleared and then set, so
        a swap between two students does not trip the UNIQUE constraint halfway.
        Raises RosterConflict (nothing written) if a name belongs to someone else.
        """
        total = len(students)
        async with transaction(self._db) as conn:
            names = [s.mattermost for s in students]
            existing: dict[str, Mapping[str, Any]] = {}
            for start in range(0, total, _CHUNK):
                stmt = select(_T).where(self._mine, StudentRow.mattermost.in_(names[start : start + _CHUNK]))
                existing.update({r.mattermost: r._mapping for r in (await conn.execute(stmt)).all()})
            await _check_gitlab_clashes(conn, self._course, {s.mattermost: s.gitlab for s in students})

            new = [s for s in students if s.mattermost not in existing]
            changed = [
                s for s in students if s.mattermost in existing and _differs(existing[s.mattermost], s)
            ]
            moving = [s.mattermost for s in changed if existing[s.mattermost]["gitlab"] != s.gitlab]
            if moving:
                await conn.execute(
                    update(StudentRow)
                    .where(self._mine, StudentRow.mattermost.in_(moving))
                    .values(gitlab=None)
                )
            for start in range(0, max(len(new), len(changed)), _CHUNK):
                batch_new, batch_changed = new[start : start + _CHUNK], changed[start : start + _CHUNK]
                await self._write(conn, batch_new, batch_changed, now)
                if progress is not None:
                    progress(min(total, start + _CHUNK), total)
            if progress is not None:
                progress(total, total)
        return RosterCounts(created=len(new), updated=len(changed), unchanged=total - len(new) - len(changed))

    async def _write(
        self, conn: AsyncConnection, new: Sequence[Student], changed: Sequence[Student], now: datetime
    ) -> None:
        if new:
            ins = insert_for(conn, _T)
            stmt = ins.on_conflict_do_update(
                index_elements=["course", "mattermost"],
                set_={**{f: ins.excluded[f] for f in _FIELDS}, "active": True, "updated_at": now},
            )
            rows = [
                {
                    "course": self._course,
                    "mattermost": s.mattermost,
                    **_values(s),
                    "active": True,
                    "updated_at": now,
                }
                for s in new
            ]
            await conn.execute(stmt, rows)
        if changed:
            stmt2 = (
                update(StudentRow)
                .where(self._mine, StudentRow.mattermost == bindparam("key"))
                .values({f: bindparam(f) for f in _FIELDS} | {"active": True, "updated_at": now})
            )
            await conn.execute(stmt2, [{"key": s.mattermost, **_values(s)} for s in changed])

    async def set_mattermost_id(self, mattermost: str, user_id: str, *, now: datetime) -> bool:
        """Remember the Mattermost user id once the bot has seen the user (DMs need it)."""
        stmt = (
            update(StudentRow)
            .where(
                self._mine,
                StudentRow.mattermost == normalize_username(mattermost),
                StudentRow.mattermost_id.is_distinct_from(user_id),
            )
            .values(mattermost_id=user_id, updated_at=now)
            .returning(StudentRow.id)
        )
        async with transaction(self._db) as conn:
            return (await conn.execute(stmt)).first() is not None

    async def set_mattermost_ids(self, ids: Mapping[str, str], *, now: datetime) -> None:
        """`set_mattermost_id` for many at once, in one transaction: the first fan-out to a
        500-student roster wrote 500 transactions (each one moving `ledger_version`, so every
        kept `status` and `deadlines` text went stale 500 times) and held start-up 2 s."""
        if not ids:
            return
        stmt = (
            update(StudentRow)
            .where(
                self._mine,
                StudentRow.mattermost == bindparam("key"),
                StudentRow.mattermost_id.is_distinct_from(bindparam("user_id")),
            )
            .values(mattermost_id=bindparam("user_id"), updated_at=now)
        )
        rows = [{"key": normalize_username(name), "user_id": uid} for name, uid in sorted(ids.items())]
        async with transaction(self._db) as conn:
            await conn.execute(stmt, rows)

    async def _one(self, column: Any, value: str) -> Student | None:
        async with read(self._db) as conn:
            stmt = select(_T).where(self._mine, column == normalize_username(value))
            row = (await conn.execute(stmt)).first()
        return None if row is None else student_from_row(row)

    async def by_mattermost(self, username: str) -> Student | None:
        return await self._one(StudentRow.mattermost, username)

    async def by_gitlab(self, username: str) -> Student | None:
        return await self._one(StudentRow.gitlab, username)

    async def by_cluster(self, username: str) -> Student | None:
        return await self._one(StudentRow.cluster, username)

    async def is_active(self, mattermost: str) -> bool | None:
        """None for an unknown student."""
        stmt = select(StudentRow.active).where(
            self._mine, StudentRow.mattermost == normalize_username(mattermost)
        )
        async with read(self._db) as conn:
            return (await conn.execute(stmt)).scalar_one_or_none()

    async def all(self, group_id: str | None = None, *, include_inactive: bool = False) -> list[Student]:
        """Students by Mattermost username; one exercise group's if ``group_id``."""
        stmt = select(_T).where(self._mine).order_by(StudentRow.mattermost)
        if group_id is not None:
            stmt = stmt.where(StudentRow.group_id == group_id)
        if not include_inactive:
            stmt = stmt.where(StudentRow.active.is_(True))
        async with read(self._db) as conn:
            return [student_from_row(r) for r in (await conn.execute(stmt)).all()]

    async def edit(
        self, mattermost: str, changes: RosterChanges, *, by: str, now: datetime
    ) -> Student | None:
        """Apply checked ``changes`` to one entry, with an audit row in the same
        transaction; None if the roster has no such student. A GitLab name another
        student has raises RosterConflict: hand-ins would count for both."""
        name = normalize_username(mattermost)
        async with transaction(self._db) as conn:
            row = (await conn.execute(select(_T).where(self._mine, StudentRow.mattermost == name))).first()
            if row is None:
                return None
            old = row._mapping
            changed = {k: v for k, v in changes.items() if old[k] != v}
            if not changed:
                return student_from_row(old)
            if changed.get("gitlab") is not None:
                await _check_gitlab_clashes(conn, self._course, {name: str(changed["gitlab"])})
            stmt = update(StudentRow).where(StudentRow.id == old["id"]).values(**changed, updated_at=now)
            await conn.execute(stmt)
            await conn.execute(
                insert(AuditRow).values(
                    course=self._course,
                    at=now,
                    actor=by,
                    action="roster-edit",
                    student_id=old["id"],
                    before=roster_state({k: old[k] for k in changed}),
                    after=roster_state(changed),
                )
            )
            new = (await conn.execute(select(_T).where(StudentRow.id == old["id"]))).one()
        return student_from_row(new)
