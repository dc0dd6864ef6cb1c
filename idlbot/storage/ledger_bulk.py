"""Every active student's ledger of a course, or of one exercise group, in seven
statements whatever the course size: what overviews, the export and the routines read.

One statement per table, each filtered by the same student subquery, assembled in Python:
an overview of 500 students must not become 3,000 round trips. `ledger_read.py` is its
twin for one student (`/idl status`), one UNION ALL over the same tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, select

from idlbot.domain.ledger import Outcome, Presentation, StudentLedger, WikiKind, WikiPost
from idlbot.slices import in_slices
from idlbot.storage._dialect import Database, read
from idlbot.storage.ledger_read import merge_hand_ins
from idlbot.storage.models_qualification import (
    GroupPaperRow,
    HandInRow,
    OverrideRow,
    PresentationRow,
    StudentRow,
    WikiPostRow,
)
from idlbot.storage.presenters import talks_statement, waiting_by_team
from idlbot.storage.roster import student_from_row

__all__ = ["read_ledgers"]

ROWS_PER_FETCH = 400
"""Rows converted between two returns to the event loop (about a millisecond's worth)."""


async def read_ledgers(
    reads: Database,
    course: str,
    cond: ColumnElement[bool],
    due: Mapping[str, datetime],
    order: Mapping[str, int],
) -> list[StudentLedger]:
    """The ledgers of `course`'s students that match `cond` (on `students`), by username."""
    ids = select(StudentRow.id).where(cond).scalar_subquery()
    teams = select(StudentRow.team_id).where(cond, StudentRow.team_id.is_not(None)).scalar_subquery()

    def rows_of(model: Any) -> Select[Any]:
        return select(model.__table__).where(model.student_id.in_(ids))

    papers = select(GroupPaperRow.__table__).where(
        GroupPaperRow.student_id.in_(ids)
        | ((GroupPaperRow.course == course) & GroupPaperRow.team_id.in_(teams))
    )

    async with read(reads) as conn:
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
            ("talks", talks_statement(course, ids, teams)),  # the presenter rota
        ):
            grouped: defaultdict[int | str, list[Mapping[Any, Any]]] = defaultdict(list)
            # streamed, a slice of rows per fetch: read at once, 500 students' ~3 000 hand-ins
            # were converted and grouped in one go, ~6 ms of the event loop with nothing
            # else let in, at the first overview after every write
            async for part in (await conn.stream(stmt)).partitions(ROWS_PER_FETCH):
                for row in part:
                    m = row._mapping
                    grouped[
                        m["student_id"] if m.get("student_id") is not None else f"team:{m['team_id']}"
                    ].append(m)
            by_table[name] = grouped
    waiting = waiting_by_team(by_table["talks"])
    return [_assemble(s._mapping, by_table, waiting, due, order) async for s in in_slices(students, 50)]


def _assemble(
    s: Mapping[Any, Any],
    t: Mapping[str, Mapping[int | str, list[Mapping[Any, Any]]]],
    waiting: Mapping[str, int],
    due: Mapping[str, datetime],
    order: Mapping[str, int],
) -> StudentLedger:
    sid: int = s["id"]
    pushed = {
        r["assignment_id"]: (r["pushed_at"], r["pusher"], r["repo_path"]) for r in t["hand_ins"].get(sid, [])
    }
    overridden = {
        r["assignment_id"]: (r["status"], r["reason"], r["by"], r["at"]) for r in t["overrides"].get(sid, [])
    }
    hand_ins = merge_hand_ins(pushed, overridden, due, order)
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
    talks = tuple(sorted({r["class_day"] for r in t["talks"].get(sid, []) if r["class_day"] is not None}))
    mates = waiting.get(s["team_id"], 0) if s["team_id"] else 0
    return StudentLedger(student_from_row(s), hand_ins, presentations, posts, paper, (), talks, mates)
