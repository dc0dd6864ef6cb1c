"""Revision 0015 on SQLite and PostgreSQL: a database filled by the previous release's
schema (0014) keeps every row of the roster, the ledger, the audit trail and the
transitions column by column, each now of course one (the id `idlbot migrate` passes,
else "main"); the keys unique within one course start with the course, so a second
course may reuse a username; the downgrade restores the old keys, and refuses (changing
nothing) while two courses share one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from idlbot.storage.db import create_engine, downgrade, upgrade
from tests.migrations.support import execute, naive_utc, revision

T0 = datetime(2018, 10, 25, 12, 0, tzinfo=UTC)
T1, T2 = T0 + timedelta(hours=1), T0 + timedelta(days=1)
BEFORE, AFTER = "0014_leases", "0015_course_ledger"

# Parents first: every row of the nine tables, every column given (ids too, so the
# foreign keys are known).
ROWS: dict[str, list[dict[str, Any]]] = {
    "students": [
        dict(id=1, mattermost="alice", mattermost_id="a" * 26, gitlab="alice-gl", cluster="alice01",
             group_id="g1", team_id="lyrics-a", active=True, updated_at=T0),
        dict(id=2, mattermost="bob", mattermost_id=None, gitlab=None, cluster=None,
             group_id=None, team_id=None, active=False, updated_at=T1),
        dict(id=3, mattermost="carol", mattermost_id="c" * 26, gitlab="carol", cluster="carol03",
             group_id="g2", team_id="lyrics-b", active=True, updated_at=T2),
    ],
    "hand_ins": [
        dict(id=1, student_id=1, assignment_id="a01", repo_path="idl2018/a/r1", pushed_at=T0,
             pusher="alice-gl"),
        dict(id=2, student_id=3, assignment_id="a01", repo_path="idl2018/a/r1", pushed_at=T0,
             pusher="alice-gl"),
        dict(id=3, student_id=1, assignment_id="a02", repo_path="idl2018/a/r2", pushed_at=T2, pusher="carol"),
    ],
    "overrides": [
        dict(id=1, student_id=1, assignment_id="a03", status="excused", reason="sick", by="stober", at=T1),
        dict(id=2, student_id=2, assignment_id="a01", status="late", reason="mail", by="tutor1", at=T2),
    ],
    "presentations": [
        dict(id=1, student_id=1, assignment_id="a01", outcome="ok", note=None, by="tutor1", at=T0),
        dict(id=2, student_id=3, assignment_id="a01", outcome="fail", note="no idea", by="tutor2", at=T1),
        dict(id=3, student_id=3, assignment_id="a02", outcome="fail", note=None, by="tutor2", at=T2),
    ],
    "wiki_posts": [
        dict(id=1, kind="blog", slug="blog/alice-gl/w1", student_id=1, team_id=None, author="alice-gl",
             created_at=T0),
        dict(id=2, kind="report", slug="teams/lyrics-b/r1", student_id=3, team_id="lyrics-b", author="carol",
             created_at=T1),
    ],
    "group_papers": [
        dict(id=1, team_id="lyrics-a", student_id=None, done=True, by="stober", at=T0),
        dict(id=2, team_id=None, student_id=1, done=False, by="stober", at=T1),
    ],
    "audit": [
        dict(id=1, at=T0, actor="tutor1", action="present", student_id=1, team_id=None, assignment_id="a01",
             before=None, after="ok by tutor1", reason=None),
        dict(id=2, at=T1, actor="stober", action="group-paper", student_id=None, team_id="lyrics-a",
             assignment_id=None, before="none", after="done", reason="read it"),
        dict(id=3, at=T2, actor="tutor2", action="present", student_id=3, team_id=None, assignment_id="a02",
             before=None, after="fail by tutor2", reason=None),
    ],
    "exclusion_changes": [
        dict(id=1, student_id=3, seq=1, excluded=True, fails=2, fails_limit=2, assignment_id="a02",
             outcome="fail", actor="tutor2", audit_id=3, at=T2, announced_at=T2),
        dict(id=2, student_id=3, seq=2, excluded=False, fails=1, fails_limit=2, assignment_id="a02",
             outcome="ok", actor="stober", audit_id=3, at=T2, announced_at=None),
    ],
    "warning_changes": [
        dict(id=1, student_id=1, seq=1, state="last-chance", previous="ok", forecast="F1.", at=T0,
             announced_at=T0),
        dict(id=2, student_id=1, seq=2, state="unreachable", previous="last-chance", forecast="F2.", at=T1,
             announced_at=None),
        dict(id=3, student_id=3, seq=1, state="last-chance", previous="ok", forecast="F3.", at=T2,
             announced_at=None),
    ],
}  # fmt: skip


def _type(name: str, column: str) -> sa.types.TypeEngine[Any]:
    """The column's type, from the first value the rows give it."""
    value = next((r[column] for r in ROWS[name] if r[column] is not None), "")
    if isinstance(value, bool):
        return sa.Boolean()
    if isinstance(value, int):
        return sa.Integer()
    return sa.DateTime(timezone=True) if isinstance(value, datetime) else sa.String()


def _table(name: str, *extra: str) -> sa.TableClause:
    """The table with the columns our rows give (and `extra`, strings)."""
    columns = [sa.column(k, _type(name, k)) for k in ROWS[name][0]]
    return sa.table(name, *columns, *(sa.column(k, sa.String()) for k in extra))


def _rows(name: str) -> list[tuple[Any, ...]]:
    return naive_utc([tuple(r.values()) for r in ROWS[name]])


async def _read(url: str, name: str, *extra: str) -> list[tuple[Any, ...]]:
    t = _table(name, *extra)
    return naive_utc(await execute(url, sa.select(*t.c).order_by(t.c.id)))


async def _keys(url: str) -> dict[str, set[tuple[str, ...]]]:
    """Each table's unique column lists and index column lists, as (kind, *columns)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:

            def inspect(c: sa.Connection) -> dict[str, set[tuple[str, ...]]]:
                i = sa.inspect(c)
                keys: dict[str, set[tuple[str, ...]]] = {}
                for t in ROWS:
                    keys[t] = {("uq", *u["column_names"]) for u in i.get_unique_constraints(t)}
                    indexes = [x for x in i.get_indexes(t) if not x["unique"]]
                    keys[t] |= {("ix", *map(str, x["column_names"])) for x in indexes}
                return keys

            return await conn.run_sync(inspect)
    finally:
        await engine.dispose()


async def _filled(url: str) -> None:
    await upgrade(url, BEFORE)
    for name, rows in ROWS.items():
        await execute(url, _table(name).insert().values(rows))
    if url.startswith("postgresql"):  # the ids were given: move the sequences past them
        for name in ROWS:
            await execute(url, sa.text(f"SELECT setval('{name}_id_seq', (SELECT max(id) FROM {name}))"))


OLD_KEYS = {
    "students": {
        ("uq", "mattermost"),
        ("uq", "gitlab"),
        ("ix", "group_id"),
        ("ix", "cluster"),
        ("ix", "team_id"),
    },
    "wiki_posts": {("uq", "kind", "slug"), ("ix", "student_id")},
    "group_papers": {("uq", "team_id"), ("uq", "student_id")},
    "audit": {("ix", "student_id"), ("ix", "at")},
}


@pytest.mark.parametrize(("given", "expected"), [("idl", "idl"), (None, "main")])
async def test_every_row_is_kept_and_becomes_course_ones(
    empty_db_url: str, given: str | None, expected: str
) -> None:
    url = empty_db_url
    await _filled(url)
    keys_before = await _keys(url)
    assert {t: keys_before[t] for t in OLD_KEYS} == OLD_KEYS

    await upgrade(url, AFTER, course_one=given)
    for name in ROWS:
        assert await _read(url, name, "course") == [(*r, expected) for r in _rows(name)], name
    keys = await _keys(url)
    assert keys["students"] == {
        ("uq", "course", "mattermost"), ("uq", "course", "gitlab"), ("ix", "course", "group_id"),
        ("ix", "course", "cluster"), ("ix", "course", "team_id"),
    }  # fmt: skip
    assert keys["wiki_posts"] == {("uq", "course", "kind", "slug"), ("ix", "student_id")}
    assert keys["group_papers"] == {("uq", "course", "team_id"), ("uq", "student_id")}
    assert keys["audit"] == {("ix", "student_id"), ("ix", "course", "at")}
    for name in ("hand_ins", "overrides", "presentations", "exclusion_changes", "warning_changes"):
        assert keys[name] == keys_before[name], name  # keyed by the surrogate student id

    await downgrade(url, BEFORE)
    for name in ROWS:
        assert await _read(url, name) == _rows(name), name
    assert await _keys(url) == keys_before


async def test_a_second_course_may_reuse_the_keys_and_then_the_downgrade_refuses(empty_db_url: str) -> None:
    url = empty_db_url
    await _filled(url)
    await upgrade(url, AFTER, course_one="idl")
    students = _table("students", "course")
    nlp = {**ROWS["students"][0], "id": 4, "course": "nlp", "updated_at": T2}  # alice, also in nlp
    await execute(url, students.insert().values(nlp))
    papers = _table("group_papers", "course")
    await execute(url, papers.insert().values({**ROWS["group_papers"][0], "id": 3, "course": "nlp"}))
    again = {**ROWS["students"][0], "id": 5, "course": "idl"}
    with pytest.raises(sa.exc.IntegrityError):
        await execute(url, students.insert().values(again))

    with pytest.raises(sa.exc.IntegrityError):
        await downgrade(url, BEFORE)
    assert await revision(url) == AFTER
    assert len(await _read(url, "students", "course")) == 4
