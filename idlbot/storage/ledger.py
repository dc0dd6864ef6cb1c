"""The qualification ledger: GitLab facts, staff records and the audit trail, per student.

Writes come from two sides and are kept apart on purpose:

* GitLab (``record_tag_push``, ``record_wiki_creation``), called by the webhook handler
  and by the periodic reconciliation with the same events, so both must be idempotent
  and order-independent: the earliest receive time wins, whichever path saw it first.
* Staff (``override``, ``present``, ``set_group_paper``), each writing its audit row in
  the same transaction, so no change can exist without its trail.

Reads (``ledger_for``, ``all_ledgers``) issue a fixed number of statements whatever the
course size: one per table, filtered by the same student subquery, assembled in Python.
`/idl status` for an instructor on 500 students must not become 3,000 round trips.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from sqlalchemy import ColumnElement, Select, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from idlbot.domain.course import Course
from idlbot.domain.errors import NotFound, UserError
from idlbot.domain.gitlab import TagPush, WikiCreation
from idlbot.domain.ledger import (
    HandIn,
    HandInStatus,
    Outcome,
    Presentation,
    Student,
    StudentLedger,
    WikiPost,
)
from idlbot.ports.qualification import AuditEntry, RosterEdit
from idlbot.storage._dialect import Database, insert_for, transaction
from idlbot.storage.models_qualification import (
    AuditRow,
    GroupPaperRow,
    HandInRow,
    OverrideRow,
    PresentationRow,
    StudentRow,
    WikiPostRow,
)
from idlbot.storage.roster import SqlRoster, student_from_row

__all__ = ["SqlLedger", "SqlQualification", "classify_wiki_page"]

WikiKind = Literal["blog", "report"]


def classify_wiki_page(
    slug: str, author: str, course: Course, blog_prefix: str
) -> tuple[WikiKind, str | None] | None:
    """("blog", None) for ``<blog_prefix>/<author>/…``, ("report", team_id) for a page
    under a team's ``wiki_prefix``, else None.

    A blog page counts only if its author owns the blog: an instructor creating a
    skeleton page in alice's blog must not hand alice a post. The team-membership check
    for reports needs the roster, so it happens in ``record_wiki_creation``.
    """
    path = slug.strip("/").lower()
    who = author.lower()
    blog = blog_prefix.strip("/").lower() + "/"
    if path.startswith(blog):
        owner, _, page = path[len(blog) :].partition("/")
        return ("blog", None) if owner == who and page else None
    teams = sorted(course.teams, key=lambda t: len(t.wiki_prefix), reverse=True)
    for team in teams:
        prefix = team.wiki_prefix.strip("/").lower() + "/"
        if path.startswith(prefix) and len(path) > len(prefix):
            return ("report", team.id)
    return None


def _gitlab_status(at: datetime, due: datetime | None) -> HandInStatus:
    """On time iff GitLab received the tag no later than the deadline (read time, so a
    deadline moved in the config applies to pushes already recorded)."""
    return "on-time" if due is None or at <= due else "late"


def _describe(
    override: Mapping[Any, Any] | None, pushed: Mapping[Any, Any] | None, due: datetime | None
) -> str | None:
    if override is not None:
        return f"{override['status']} (override by @{override['by']})"
    if pushed is not None:
        at: datetime = pushed["pushed_at"]
        return f"{_gitlab_status(at, due)} (gitlab, {at:%Y-%m-%d %H:%M} UTC)"
    return None


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


async def _audit(conn: AsyncConnection, student: str | None, **values: Any) -> AuditEntry:
    stmt = insert(AuditRow).values(**values).returning(*AuditRow.__table__.c)
    row = (await conn.execute(stmt)).one()
    return _entry(row._mapping, student)


async def _student_id(conn: AsyncConnection, mattermost: str) -> int:
    name = mattermost.strip().lower().lstrip("@")
    found = (await conn.execute(select(StudentRow.id).where(StudentRow.mattermost == name))).scalar()
    if found is None:
        raise NotFound(f"@{name} is not on the roster.")
    return found


class SqlLedger:
    """Ledger repository. ``course`` gives deadlines (for on-time vs late when reading)
    and the known assignment and team ids (to reject typos in staff commands)."""

    def __init__(self, db: Database, course: Course) -> None:
        self._db = db
        self._course = course
        self._due = {a.id: a.due for a in course.assignments}
        self._order = {a.id: n for n, a in enumerate(course.assignments)}

    def _assignment(self, assignment_id: str) -> str:
        aid = assignment_id.strip().lower()
        if aid not in self._due:
            raise UserError(
                f"Unknown assignment {assignment_id!r} (known: {', '.join(self._due) or 'none'})."
            )
        return aid

    # --- GitLab side ----------------------------------------------------------------

    async def record_tag_push(
        self, push: TagPush, members: Sequence[str], *, assignment_id: str | None = None
    ) -> int:
        """Record a hand-in for every rostered member of the pushed-to repository.

        Returns how many students' hand-ins were created or moved earlier. The first
        receive time of the tag is kept: re-pushing a tag later (even after deleting
        it) never makes an on-time hand-in late, and a push seen late (reconciliation
        after a lost hook) still moves the time back to when GitLab got it. A deletion
        hands nothing in and takes nothing back.
        """
        if push.deleted:
            return 0
        aid = assignment_id or push.tag
        names = {m.lower() for m in members}
        changed = 0
        async with transaction(self._db) as conn:
            ids = (await conn.execute(select(StudentRow.id).where(StudentRow.gitlab.in_(names)))).scalars()
            for student_id in ids.all():
                ins = insert_for(conn, HandInRow.__table__).values(
                    student_id=student_id,
                    assignment_id=aid,
                    repo_path=push.repo_path,
                    pushed_at=push.pushed_at,
                    pusher=push.pusher.lower(),
                )
                stmt = ins.on_conflict_do_update(
                    index_elements=["student_id", "assignment_id"],
                    set_={c: ins.excluded[c] for c in ("repo_path", "pushed_at", "pusher")},
                    where=HandInRow.pushed_at > ins.excluded.pushed_at,
                ).returning(HandInRow.id)
                changed += (await conn.execute(stmt)).first() is not None
        return changed

    async def record_wiki_creation(self, creation: WikiCreation, course: Course, blog_prefix: str) -> bool:
        """Record a page that counts (see ``classify_wiki_page``); True if anything changed.

        A team report counts for the member who created it, and only if the author is
        on that team in the roster. One row per page: if a page is deleted and created
        again, the earliest creation (and its author) is kept, as for tags.
        """
        kind = classify_wiki_page(creation.slug, creation.author, course, blog_prefix)
        if kind is None:
            return False
        what, team_id = kind
        cond = [StudentRow.gitlab == creation.author.lower()]
        if team_id is not None:
            cond.append(StudentRow.team_id == team_id)
        async with transaction(self._db) as conn:
            student_id = (await conn.execute(select(StudentRow.id).where(*cond))).scalar()
            if student_id is None:
                return False
            ins = insert_for(conn, WikiPostRow.__table__).values(
                kind=what,
                slug=creation.slug.strip("/"),
                student_id=student_id,
                team_id=team_id,
                author=creation.author.lower(),
                created_at=creation.created_at,
            )
            stmt = ins.on_conflict_do_update(
                index_elements=["kind", "slug"],
                set_={c: ins.excluded[c] for c in ("student_id", "team_id", "author", "created_at")},
                where=WikiPostRow.created_at > ins.excluded.created_at,
            ).returning(WikiPostRow.id)
            return (await conn.execute(stmt)).first() is not None

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
    ) -> AuditEntry:
        """Set a hand-in's status by hand (wins over GitLab), with its audit row."""
        aid = self._assignment(assignment_id)
        async with transaction(self._db) as conn:
            sid = await _student_id(conn, mattermost)
            key = (OverrideRow.student_id == sid, OverrideRow.assignment_id == aid)
            old = (await conn.execute(select(OverrideRow.__table__).where(*key))).first()
            hand = (
                await conn.execute(
                    select(HandInRow.__table__).where(
                        HandInRow.student_id == sid, HandInRow.assignment_id == aid
                    )
                )
            ).first()
            before = _describe(old._mapping if old else None, hand._mapping if hand else None, self._due[aid])
            values = {"status": status, "reason": reason, "by": by, "at": now}
            stmt = insert_for(conn, OverrideRow.__table__).values(student_id=sid, assignment_id=aid, **values)
            await conn.execute(
                stmt.on_conflict_do_update(index_elements=["student_id", "assignment_id"], set_=values)
            )
            return await _audit(
                conn,
                mattermost.lower().lstrip("@"),
                at=now,
                actor=by,
                action="override",
                student_id=sid,
                assignment_id=aid,
                before=before,
                after=f"{status} (override by @{by})",
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
    ) -> AuditEntry:
        """Record (or correct) a presentation outcome, with its audit row."""
        aid = self._assignment(assignment_id)
        async with transaction(self._db) as conn:
            sid = await _student_id(conn, mattermost)
            cond = (PresentationRow.student_id == sid, PresentationRow.assignment_id == aid)
            old = (
                await conn.execute(select(PresentationRow.outcome, PresentationRow.by).where(*cond))
            ).first()
            values = {"outcome": outcome, "note": note, "by": by, "at": now}
            stmt = insert_for(conn, PresentationRow.__table__).values(
                student_id=sid, assignment_id=aid, **values
            )
            await conn.execute(
                stmt.on_conflict_do_update(index_elements=["student_id", "assignment_id"], set_=values)
            )
            return await _audit(
                conn,
                mattermost.lower().lstrip("@"),
                at=now,
                actor=by,
                action="present",
                student_id=sid,
                assignment_id=aid,
                before=None if old is None else f"{old.outcome} (by @{old.by})",
                after=f"{outcome} (by @{by})",
                reason=note,
            )

    async def set_group_paper(
        self,
        done: bool,
        *,
        team_id: str | None = None,
        mattermost: str | None = None,
        reason: str | None = None,
        by: str,
        now: datetime,
    ) -> AuditEntry:
        """Mark the group paper for a team or for one student, with its audit row."""
        if (team_id is None) == (mattermost is None):
            raise UserError("Give either a team or a student for the group paper.")
        if team_id is not None and team_id not in {t.id for t in self._course.teams}:
            raise UserError(f"Unknown team {team_id!r}.")
        async with transaction(self._db) as conn:
            sid = None if mattermost is None else await _student_id(conn, mattermost)
            subject = GroupPaperRow.team_id == team_id if sid is None else GroupPaperRow.student_id == sid
            old = (await conn.execute(select(GroupPaperRow.done).where(subject))).scalar()
            values = {"done": done, "by": by, "at": now}
            stmt = insert_for(conn, GroupPaperRow.__table__).values(team_id=team_id, student_id=sid, **values)
            conflict = ["team_id"] if sid is None else ["student_id"]
            await conn.execute(stmt.on_conflict_do_update(index_elements=conflict, set_=values))
            word = {True: "counts", False: "does not count", None: None}
            return await _audit(
                conn,
                None if mattermost is None else mattermost.lower().lstrip("@"),
                at=now,
                actor=by,
                action="group-paper",
                student_id=sid,
                team_id=team_id,
                before=word[old],
                after=word[done],
                reason=reason,
            )

    async def audit_for(
        self, *, mattermost: str | None = None, assignment_id: str | None = None, limit: int = 50
    ) -> list[AuditEntry]:
        """The trail, newest first (one query, joined to usernames)."""
        stmt = (
            select(AuditRow.__table__, StudentRow.mattermost.label("student_name"))
            .outerjoin(StudentRow, StudentRow.id == AuditRow.student_id)
            .order_by(AuditRow.at.desc(), AuditRow.id.desc())
            .limit(limit)
        )
        if mattermost is not None:
            stmt = stmt.where(StudentRow.mattermost == mattermost.strip().lower().lstrip("@"))
        if assignment_id is not None:
            stmt = stmt.where(AuditRow.assignment_id == assignment_id.strip().lower())
        async with transaction(self._db) as conn:
            rows = (await conn.execute(stmt)).all()
        return [_entry(r._mapping, r.student_name) for r in rows]

    # --- reading --------------------------------------------------------------------

    async def ledger_for(self, mattermost: str) -> StudentLedger | None:
        """One student's ledger in six statements (students + one per record table)."""
        name = mattermost.strip().lower().lstrip("@")
        found = await self._ledgers(StudentRow.mattermost == name)
        return found[0] if found else None

    async def all_ledgers(self, group_id: str | None = None) -> list[StudentLedger]:
        """Active students' ledgers, by username, in six statements for any course size."""
        cond: ColumnElement[bool] = StudentRow.active.is_(True)
        if group_id is not None:
            cond = cond & (StudentRow.group_id == group_id)
        return await self._ledgers(cond)

    async def _ledgers(self, cond: ColumnElement[bool]) -> list[StudentLedger]:
        ids = select(StudentRow.id).where(cond).scalar_subquery()
        teams = select(StudentRow.team_id).where(cond, StudentRow.team_id.is_not(None)).scalar_subquery()

        def rows_of(model: Any) -> Select[Any]:
            return select(model.__table__).where(model.student_id.in_(ids))

        papers = select(GroupPaperRow.__table__).where(
            GroupPaperRow.student_id.in_(ids) | GroupPaperRow.team_id.in_(teams)
        )
        async with transaction(self._db) as conn:
            students = (
                await conn.execute(select(StudentRow.__table__).where(cond).order_by(StudentRow.mattermost))
            ).all()
            if not students:
                return []
            by_table: dict[str, defaultdict[int | str, list[Mapping[Any, Any]]]] = {}
            for name, stmt in (
                ("hand_ins", rows_of(HandInRow)),
                ("overrides", rows_of(OverrideRow)),
                ("presentations", rows_of(PresentationRow).order_by(PresentationRow.at, PresentationRow.id)),
                ("posts", rows_of(WikiPostRow).order_by(WikiPostRow.created_at, WikiPostRow.id)),
                ("papers", papers),
            ):
                grouped: defaultdict[int | str, list[Mapping[Any, Any]]] = defaultdict(list)
                for row in (await conn.execute(stmt)).all():
                    m = row._mapping
                    grouped[
                        m["student_id"] if m.get("student_id") is not None else f"team:{m['team_id']}"
                    ].append(m)
                by_table[name] = grouped
        return [self._assemble(s._mapping, by_table) for s in students]

    def _assemble(
        self, s: Mapping[Any, Any], t: Mapping[str, Mapping[int | str, list[Mapping[Any, Any]]]]
    ) -> StudentLedger:
        sid: int = s["id"]
        pushed = {r["assignment_id"]: r for r in t["hand_ins"].get(sid, [])}
        overridden = {r["assignment_id"]: r for r in t["overrides"].get(sid, [])}
        hand_ins: list[HandIn] = []
        for aid in sorted(
            pushed.keys() | overridden.keys(), key=lambda a: (self._order.get(a, len(self._order)), a)
        ):
            p, o = pushed.get(aid), overridden.get(aid)
            if o is not None:
                hand_ins.append(
                    HandIn(
                        aid,
                        cast(HandInStatus, o["status"]),
                        p["pushed_at"] if p else None,
                        "override",
                        by=o["by"],
                        reason=o["reason"],
                        repo_path=p["repo_path"] if p else None,
                    )
                )
            elif p is not None:
                status = _gitlab_status(p["pushed_at"], self._due.get(aid))
                hand_ins.append(
                    HandIn(aid, status, p["pushed_at"], "gitlab", by=p["pusher"], repo_path=p["repo_path"])
                )
        presentations = tuple(
            Presentation(r["assignment_id"], cast(Outcome, r["outcome"]), r["by"], r["at"], r["note"])
            for r in t["presentations"].get(sid, [])
        )
        posts = tuple(
            WikiPost(cast(WikiKind, r["kind"]), r["slug"], r["created_at"], r["team_id"])
            for r in t["posts"].get(sid, [])
        )
        own = t["papers"].get(sid, [])
        team = t["papers"].get(f"team:{s['team_id']}", []) if s["team_id"] else []
        paper = own[0]["done"] if own else team[0]["done"] if team else None
        return StudentLedger(student_from_row(s), tuple(hand_ins), presentations, posts, paper)


class SqlQualification(SqlLedger):
    """The ``Qualification`` port on SQL: the ledger plus roster lookup and edit."""

    def __init__(self, db: Database, course: Course) -> None:
        super().__init__(db, course)
        self._roster = SqlRoster(db)

    async def student(self, mattermost: str) -> Student | None:
        return await self._roster.by_mattermost(mattermost)

    async def edit_student(self, mattermost: str, edit: RosterEdit, *, by: str, now: datetime) -> Student:
        return await self._roster.edit(mattermost, edit, course=self._course, by=by, now=now)

    async def audit(
        self, *, mattermost: str | None = None, assignment_id: str | None = None, limit: int = 50
    ) -> list[AuditEntry]:
        return await self.audit_for(mattermost=mattermost, assignment_id=assignment_id, limit=limit)


if TYPE_CHECKING:
    from idlbot.ports.qualification import Qualification

    _PORT_CHECK: type[Qualification] = SqlQualification  # mypy: the class satisfies the port
