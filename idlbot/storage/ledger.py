"""The qualification ledger: GitLab facts, staff records and the audit trail, per student.
(Over 300 lines: the writes and the constant-query reads share one schema and one lookup.)

Writes come from two sides and are kept apart on purpose:

* GitLab (``record_tag_push``, ``record_wiki_creation``, written in ``ledger_gitlab.py``),
  called by the webhook handler and by the periodic reconciliation with the same events,
  so both must be idempotent and order-independent: the earliest receive time wins.
* Staff (``override``, ``present``, ``set_group_paper``), each writing its audit row in
  the same transaction, so no change can exist without its trail. The ids arrive
  checked (``services/qualification.py`` applies the course rules); a student the
  roster does not have comes back as None, never as a chat message.

Reads issue a fixed number of statements whatever the course size: ``all_ledgers`` one
per table (``ledger_bulk.py``); ``ledger_for``, what every `/idl status` reads, one UNION
ALL over the same tables (``ledger_read.py``). Both answer from in-memory copies between
two writes (``changes.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, Row, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from idlbot.domain.audit import hand_in_state, override_state, paper_state, presentation_state
from idlbot.domain.course import Course
from idlbot.domain.gitlab import TagPush, WikiCreation
from idlbot.domain.ledger import (
    HandInStatus,
    Outcome,
    Student,
    StudentLedger,
)
from idlbot.domain.roster import RosterChanges
from idlbot.domain.usernames import normalize_username
from idlbot.ports.qualification import AuditEntry
from idlbot.storage import ledger_gitlab
from idlbot.storage._dialect import Database, insert_for, read, transaction
from idlbot.storage._dialect import _engine_of as engine_of
from idlbot.storage.changes import ReadCache, changes_of
from idlbot.storage.exclusion import count_fails, lock_student, record_transition
from idlbot.storage.ledger_bulk import read_ledgers
from idlbot.storage.ledger_read import one_statement_reader, read_ledger
from idlbot.storage.models_qualification import (
    AuditRow,
    GroupPaperRow,
    HandInRow,
    OverrideRow,
    PresentationRow,
    StudentRow,
)
from idlbot.storage.roster import SqlRoster

__all__ = ["SqlLedger", "SqlQualification"]


def _entry(row: Mapping[Any, Any], student: str | None) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        student=student,
        team_id=row["team_id"],
        assignment_id=row["assignment_id"],
        before=row["before"],
        after=row["after"],
        reason=row["reason"],
    )


async def _audit(conn: AsyncConnection, course: str, student: str | None, **values: Any) -> AuditEntry:
    stmt = insert(AuditRow).values(course=course, **values).returning(*AuditRow.__table__.c)
    row = (await conn.execute(stmt)).one()
    return _entry(row._mapping, student)


async def _student_id(conn: AsyncConnection, course: str, mattermost: str) -> int | None:
    name = normalize_username(mattermost)
    found: int | None = (
        await conn.execute(
            select(StudentRow.id).where(StudentRow.course == course, StudentRow.mattermost == name)
        )
    ).scalar()
    return found


def _hand_in_state(override: Row[Any] | None, pushed: Row[Any] | None, due: datetime | None) -> str | None:
    return hand_in_state(
        None if override is None else (cast(HandInStatus, override.status), override.by),
        None if pushed is None else pushed.pushed_at,
        due,
    )


class SqlLedger:
    """One course's ledger repository. ``course`` gives the rows' course (``course.id``),
    the deadlines (on time vs late is decided when reading, see ``gitlab_status``) and the
    assignments' order."""

    def __init__(self, db: Database, course: Course) -> None:
        self._db = db
        # reads go straight to the engine: an ORM session per read (which `transaction`
        # opens for a session factory) cost more CPU than the status query itself
        self._reads: Database = engine_of(db) or db
        self._read_one = one_statement_reader(db)
        self._course = course
        self._cid = course.id
        self._due = {a.id: a.due for a in course.assignments}
        self._order = {a.id: n for n, a in enumerate(course.assignments)}
        # what status and deadlines read on every ask, copied while nothing changes it
        changes = self._changes = changes_of(engine_of(db))
        self._ledger_copies: ReadCache[str, StudentLedger | None] = ReadCache(changes)
        self._student_copies: ReadCache[str, Student | None] = ReadCache(changes)
        self._course_copies: ReadCache[str | None, tuple[StudentLedger, ...]] = ReadCache(changes, limit=64)

    # --- GitLab side ----------------------------------------------------------------

    async def record_tag_push(
        self, push: TagPush, members: Sequence[str], *, assignment_id: str | None = None
    ) -> int:
        """Hand-ins for the pushed-to repository's rostered members (``ledger_gitlab``)."""
        return await ledger_gitlab.record_tag_push(
            self._db, self._cid, push, members, assignment_id=assignment_id
        )

    async def record_wiki_creation(self, creation: WikiCreation, course: Course, blog_prefix: str) -> bool:
        """A blog post or progress report, if the page counts (``ledger_gitlab``)."""
        return await ledger_gitlab.record_wiki_creation(self._db, self._cid, creation, course, blog_prefix)

    # --- staff side -----------------------------------------------------------------

    async def override(
        self,
        mattermost: str,
        assignment_id: str,
        status: HandInStatus,
        *,
        reason: str,
        by: str,
        now: datetime,
    ) -> AuditEntry | None:
        """Set a hand-in's status by hand (wins over GitLab), with its audit row."""
        aid = assignment_id.strip().lower()
        async with transaction(self._db) as conn:
            sid = await _student_id(conn, self._cid, mattermost)
            if sid is None:
                return None
            key = (OverrideRow.student_id == sid, OverrideRow.assignment_id == aid)
            old = (await conn.execute(select(OverrideRow.__table__).where(*key))).first()
            hand = (
                await conn.execute(
                    select(HandInRow.__table__).where(
                        HandInRow.student_id == sid, HandInRow.assignment_id == aid
                    )
                )
            ).first()
            before = _hand_in_state(old, hand, self._due.get(aid))
            values = {"status": status, "reason": reason, "by": by, "at": now}
            stmt = insert_for(conn, OverrideRow.__table__).values(
                course=self._cid, student_id=sid, assignment_id=aid, **values
            )
            await conn.execute(
                stmt.on_conflict_do_update(index_elements=["student_id", "assignment_id"], set_=values)
            )
            return await _audit(
                conn,
                self._cid,
                normalize_username(mattermost),
                at=now,
                actor=by,
                action="override",
                student_id=sid,
                assignment_id=aid,
                before=before,
                after=override_state(status, by),
                reason=reason,
            )

    async def present(
        self,
        mattermost: str,
        assignment_id: str,
        outcome: Outcome,
        *,
        note: str | None,
        by: str,
        now: datetime,
    ) -> AuditEntry | None:
        """Record (or correct) a presentation outcome, with its audit row, and the
        exclusion transition it makes, if any (``storage/exclusion.py``): in the same
        transaction, with the student's row locked, so concurrent records see each other."""
        aid = assignment_id.strip().lower()
        async with transaction(self._db) as conn:
            sid = await _student_id(conn, self._cid, mattermost)
            if sid is None:
                return None
            await lock_student(conn, sid)
            fails_before = await count_fails(conn, sid)
            cond = (PresentationRow.student_id == sid, PresentationRow.assignment_id == aid)
            old = (
                await conn.execute(select(PresentationRow.outcome, PresentationRow.by).where(*cond))
            ).first()
            values = {"outcome": outcome, "note": note, "by": by, "at": now}
            stmt = insert_for(conn, PresentationRow.__table__).values(
                course=self._cid, student_id=sid, assignment_id=aid, **values
            )
            await conn.execute(
                stmt.on_conflict_do_update(index_elements=["student_id", "assignment_id"], set_=values)
            )
            entry = await _audit(
                conn,
                self._cid,
                normalize_username(mattermost),
                at=now,
                actor=by,
                action="present",
                student_id=sid,
                assignment_id=aid,
                before=None if old is None else presentation_state(old.outcome, old.by),
                after=presentation_state(outcome, by),
                reason=note,
            )
            await record_transition(
                conn, sid, normalize_username(mattermost), course=self._cid, fails_before=fails_before,
                limit=self._course.rules.fails_to_exclusion, assignment_id=aid, outcome=outcome,
                actor=by, audit_id=entry.id, now=now,
            )  # fmt: skip
            return entry

    async def set_group_paper(
        self,
        done: bool,
        *,
        team_id: str | None = None,
        mattermost: str | None = None,
        reason: str | None = None,
        by: str,
        now: datetime,
    ) -> AuditEntry | None:
        """Mark the group paper for a team (``team_id``) or for one student
        (``mattermost``, which wins over the team's), with its audit row."""
        async with transaction(self._db) as conn:
            sid = None if mattermost is None else await _student_id(conn, self._cid, mattermost)
            if mattermost is not None and sid is None:
                return None
            subject = (
                (GroupPaperRow.course == self._cid) & (GroupPaperRow.team_id == team_id)
                if sid is None
                else GroupPaperRow.student_id == sid
            )
            old = (await conn.execute(select(GroupPaperRow.done).where(subject))).scalar()
            values = {"done": done, "by": by, "at": now}
            stmt = insert_for(conn, GroupPaperRow.__table__).values(
                course=self._cid, team_id=team_id, student_id=sid, **values
            )
            conflict = ["course", "team_id"] if sid is None else ["student_id"]
            await conn.execute(stmt.on_conflict_do_update(index_elements=conflict, set_=values))
            return await _audit(
                conn,
                self._cid,
                None if mattermost is None else normalize_username(mattermost),
                at=now,
                actor=by,
                action="group-paper",
                student_id=sid,
                team_id=team_id,
                before=paper_state(old),
                after=paper_state(done),
                reason=reason,
            )

    async def audit_for(
        self, *, mattermost: str | None = None, assignment_id: str | None = None, limit: int = 50
    ) -> list[AuditEntry]:
        """The trail, newest first (one query, joined to usernames)."""
        stmt = (
            select(AuditRow.__table__, StudentRow.mattermost.label("student_name"))
            .outerjoin(StudentRow, StudentRow.id == AuditRow.student_id)
            .where(AuditRow.course == self._cid)
            .order_by(AuditRow.at.desc(), AuditRow.id.desc())
            .limit(limit)
        )
        if mattermost is not None:
            stmt = stmt.where(StudentRow.mattermost == normalize_username(mattermost))
        if assignment_id is not None:
            stmt = stmt.where(AuditRow.assignment_id == assignment_id.strip().lower())
        async with read(self._db) as conn:
            rows = (await conn.execute(stmt)).all()
        return [_entry(r._mapping, r.student_name) for r in rows]

    # --- reading --------------------------------------------------------------------

    async def ledger_for(self, mattermost: str) -> StudentLedger | None:
        """One student's ledger, roster entry included, in one statement (`ledger_read`):
        `/idl status` reads nothing else."""
        name = normalize_username(mattermost)
        return await self._ledger_copies.get(name, lambda: self._read_ledger(name))

    async def _read_ledger(self, name: str) -> StudentLedger | None:
        async with self._read_one() as conn:
            return await read_ledger(conn, self._cid, name, self._due, self._order)

    async def all_ledgers(self, group_id: str | None = None) -> list[StudentLedger]:
        """Active students' ledgers, by username, in seven statements for any course size.
        The whole course only changes with a write, like one student's: overviews read it
        once between two writes (`storage/changes.py`)."""
        return list(await self._course_copies.get(group_id, lambda: self._ledger_tuple(group_id)))

    async def read_all_ledgers(self, group_id: str | None = None) -> list[StudentLedger]:
        """As `all_ledgers`, always from the rows: for what decides DMs (`fresh`)."""
        cond: ColumnElement[bool] = (StudentRow.course == self._cid) & StudentRow.active.is_(True)
        if group_id is not None:
            cond = cond & (StudentRow.group_id == group_id)
        return await read_ledgers(self._reads, self._cid, cond, self._due, self._order)

    @property
    def fresh(self) -> FreshLedgers:
        """The routines' view (early warnings, digest, blog nudge): they decide DMs, so they
        never use a copy that another replica's write may have outdated for up to a poll."""
        return FreshLedgers(self)

    async def current_ledgers(self, group_id: str | None = None) -> list[StudentLedger]:
        """As `read_all_ledgers`, and as fresh: `ledger_version` is read first, which moves
        the epoch if any process committed a ledger write since the last read of it, so
        the copy is used only when it is still what the rows say. The warnings pass read
        and weighed all 500 students' rows every minute (~200 ms of the event loop); now,
        between two writes, it reads one row and finds every standing kept."""
        engine = engine_of(self._db)
        if engine is None or not self._changes.live:  # no watch: no copies either
            return await self.read_all_ledgers(group_id)
        await self._changes.poll_once(engine)  # raises if the database does not answer
        return await self.all_ledgers(group_id)

    async def _ledger_tuple(self, group_id: str | None) -> tuple[StudentLedger, ...]:
        return tuple(await self.read_all_ledgers(group_id))


class FreshLedgers:
    """`SqlLedger.fresh`: the `Ledgers` port, never behind the rows (`current_ledgers`)."""

    def __init__(self, ledger: SqlLedger) -> None:
        self._ledger = ledger

    async def all_ledgers(self, group_id: str | None = None) -> list[StudentLedger]:
        return await self._ledger.current_ledgers(group_id)


class SqlQualification(SqlLedger):
    """The ``QualificationStore`` on SQL: the ledger plus roster lookup and edit.
    ``QualificationService`` puts the course rules in front of it for chat."""

    def __init__(self, db: Database, course: Course) -> None:
        super().__init__(db, course)
        self._roster = SqlRoster(db, course=course.id)

    async def student(self, mattermost: str) -> Student | None:
        name = normalize_username(mattermost)
        return await self._student_copies.get(name, lambda: self._roster.by_mattermost(name))

    async def edit_student(
        self, mattermost: str, changes: RosterChanges, *, by: str, now: datetime
    ) -> Student | None:
        return await self._roster.edit(mattermost, changes, by=by, now=now)

    async def audit(
        self, *, mattermost: str | None = None, assignment_id: str | None = None, limit: int = 50
    ) -> list[AuditEntry]:
        return await self.audit_for(mattermost=mattermost, assignment_id=assignment_id, limit=limit)


if TYPE_CHECKING:
    from idlbot.ports.qualification import QualificationStore

    _PORT_CHECK: type[QualificationStore] = SqlQualification  # mypy: the class satisfies the port
