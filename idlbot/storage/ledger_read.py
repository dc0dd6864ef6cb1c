"""One student's ledger in one indexed statement: what `/idl status` reads.

Why one UNION ALL and not a per-student snapshot kept up to date by the ledger: the
snapshot would have to be rewritten by every write path (tag pushes, wiki pages, the
three staff records, roster edits, the reconciliation) in the same transaction, and a
moved deadline in the config would leave every snapshot stale, since on time vs late is
decided when reading. The UNION ALL reads the rows that are the truth, each branch by an
index (`students` unique on (course, mattermost); `(student_id, assignment_id)` unique on hand-ins,
overrides and presentations; `wiki_posts.student_id`; `group_papers` unique on
`student_id` and on `team_id`; the rota's `team_presentations.student_id`, and
`students` (course, team_id) for the team-mates who never presented), so it costs one
round trip,
whatever the course size.
Six statements cost six round trips, each with SQLAlchemy's per-execution overhead (and
on aiosqlite two thread hops), which is what made `status` cost milliseconds.
The bot's in-memory copies (`storage/changes.py`) are of what this returns, read again
after any write to the tables it reads, so they share none of a snapshot's problems.

Every branch has the same ten columns, `(tag, id, a, b, c, d, e, f, at, flag)`; what
the letters hold depends on the tag (see `_STATEMENT`). The student's branch comes first
because a UNION's result types are the first branch's: its `updated_at` and `active`
give the `at` column `UtcDateTime` (aware UTC on SQLite too) and `flag` `Boolean`.
The statement is built once: SQLAlchemy memoizes its cache key and compiled form on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Any
from typing import cast as as_type

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Row,
    String,
    bindparam,
    cast,
    exists,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from idlbot.domain.ledger import (
    HandIn,
    HandInStatus,
    Outcome,
    Presentation,
    Student,
    StudentLedger,
    WikiKind,
    WikiPost,
    gitlab_status,
)
from idlbot.storage._dialect import Database, read
from idlbot.storage._dialect import _engine_of as engine_of
from idlbot.storage.models_presenters import TeamPresentationRow
from idlbot.storage.models_qualification import (
    GroupPaperRow,
    HandInRow,
    OverrideRow,
    PresentationRow,
    StudentRow,
    WikiPostRow,
)

Reader = Callable[[], AbstractAsyncContextManager[AsyncConnection]]
Pushed = tuple[datetime, str, str]  # pushed_at, pusher, repo_path
Overridden = tuple[str, str, str, datetime]  # status, reason, by, at


def _statement() -> CompoundSelect[Any]:
    s, h, o = StudentRow.__table__.c, HandInRow.__table__.c, OverrideRow.__table__.c
    p, w, g = PresentationRow.__table__.c, WikiPostRow.__table__.c, GroupPaperRow.__table__.c
    tp, m = TeamPresentationRow.__table__.c, StudentRow.__table__.alias("member").c
    name: BindParameter[str] = bindparam("name")
    course: BindParameter[str] = bindparam("course")
    sid = select(s.id).where(s.course == course, s.mattermost == name).scalar_subquery()
    team = select(s.team_id).where(s.course == course, s.mattermost == name).scalar_subquery()

    def tag(t: str) -> Any:
        return literal_column(f"'{t}'")

    no = null()
    return union_all(
        select(tag("s"), s.id, s.mattermost, s.gitlab, s.cluster, s.group_id, s.team_id, s.mattermost_id,
               s.updated_at, s.active).where(s.course == course, s.mattermost == name),
        select(tag("h"), h.id, h.assignment_id, h.pusher, h.repo_path, no, no, no, h.pushed_at, no)
        .where(h.student_id == sid),
        select(tag("o"), o.id, o.assignment_id, o.status, o.reason, o.by, no, no, o.at, no)
        .where(o.student_id == sid),
        select(tag("p"), p.id, p.assignment_id, p.outcome, p.note, p.by, no, no, p.at, no)
        .where(p.student_id == sid),
        select(tag("w"), w.id, w.kind, w.slug, w.team_id, no, no, no, w.created_at, no)
        .where(w.student_id == sid),
        select(tag("g"), g.id, no, no, no, no, no, no, g.at, g.done).where(g.student_id == sid),
        select(tag("t"), g.id, no, no, no, no, no, no, g.at, g.done)
        .where(g.course == course, g.team_id == team),
        select(tag("x"), tp.id, cast(tp.class_day, String), tp.team_id, no, no, no, no, tp.at, no)
        .where(tp.student_id == sid),
        select(tag("y"), m.id, m.mattermost, no, no, no, no, no, no, no)
        .where(m.course == course, m.team_id == team, m.active.is_(True),
               ~exists().where(tp.student_id == m.id)),
    )  # fmt: skip


_STATEMENT = _statement()


def one_statement_reader(db: Database) -> Reader:
    """Where a read of one statement runs. PostgreSQL: on an AUTOCOMMIT connection, as one
    statement sees one snapshot by itself; BEGIN and COMMIT around it would be two more
    round trips that protect nothing (a quarter of the read's CPU). SQLite: in
    `read`, on the engine (an ORM session per read cost more than the query): a deferred
    BEGIN that never waits for the writer lock (WAL; see `_dialect.py`)."""
    engine = engine_of(db)
    if engine is not None and engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT").connect
    target: Database = engine or db
    return lambda: read(target)


async def read_ledger(
    conn: AsyncConnection,
    course: str,
    mattermost: str,
    due: Mapping[str, datetime],
    order: Mapping[str, int],
) -> StudentLedger | None:
    """The ledger of `course`'s student with this (normalised) username, None if not rostered."""
    rows = (await conn.execute(_STATEMENT, {"course": course, "name": mattermost})).all()
    return ledger_from_rows(rows, due, order)


def ledger_from_rows(
    rows: Iterable[Row[Any] | tuple[Any, ...]], due: Mapping[str, datetime], order: Mapping[str, int]
) -> StudentLedger | None:
    student: Student | None = None
    pushed: dict[str, Pushed] = {}
    overridden: dict[str, Overridden] = {}
    presented: list[tuple[datetime, int, Presentation]] = []
    posts: list[tuple[datetime, int, WikiPost]] = []
    own_paper: bool | None = None
    team_paper: bool | None = None
    talks: set[date] = set()
    waiting = 0
    for row in rows:
        tag, id_, a, b, c, d, e, f, at, flag = tuple(row)
        if tag == "s":
            student = Student(a, b, c, d, e, f, bool(flag))
        elif tag == "h":
            pushed[a] = (at, b, c)
        elif tag == "o":
            overridden[a] = (b, c, d, at)
        elif tag == "p":
            presented.append((at, id_, Presentation(a, as_type(Outcome, b), d, at, c)))
        elif tag == "w":
            posts.append((at, id_, WikiPost(as_type(WikiKind, a), b, at, c)))
        elif tag == "g":
            own_paper = bool(flag)
        elif tag == "t":
            team_paper = bool(flag)
        elif tag == "x":
            talks.add(date.fromisoformat(str(a)[:10]))
        else:
            waiting += 1
    if student is None:
        return None
    return StudentLedger(
        student,
        merge_hand_ins(pushed, overridden, due, order),
        tuple(p for _, _, p in sorted(presented, key=lambda x: (x[0], x[1]))),
        tuple(w for _, _, w in sorted(posts, key=lambda x: (x[0], x[1]))),
        own_paper if own_paper is not None else team_paper if student.team_id else None,
        progress_presented=tuple(sorted(talks)),
        team_waiting=waiting,
    )


def merge_hand_ins(
    pushed: Mapping[str, Pushed],
    overridden: Mapping[str, Overridden],
    due: Mapping[str, datetime],
    order: Mapping[str, int],
) -> tuple[HandIn, ...]:
    """One hand-in per assignment, in course order: a staff override (with the push's
    repository, if any) wins over the GitLab push, whose on time / late is decided here
    against the deadline the config has now."""
    last = len(order)
    hand_ins: list[HandIn] = []
    for aid in sorted(pushed.keys() | overridden.keys(), key=lambda a: (order.get(a, last), a)):
        p, o = pushed.get(aid), overridden.get(aid)
        if o is not None:
            status, reason, by, at = o
            # `at`: when it was recorded (its audit entry's time), not the push
            repo = p[2] if p is not None else None
            hand_ins.append(HandIn(aid, as_type(HandInStatus, status), at, "override", by=by, reason=reason,
                                   repo_path=repo))  # fmt: skip
        elif p is not None:
            pushed_at, pusher, repo_path = p
            status_ = gitlab_status(pushed_at, due.get(aid))
            hand_ins.append(HandIn(aid, status_, pushed_at, "gitlab", by=pusher, repo_path=repo_path))
    return tuple(hand_ins)
