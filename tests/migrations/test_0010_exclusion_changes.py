"""Revision 0010 on SQLite and PostgreSQL: `exclusion_changes` is added empty, the
ledger's rows are untouched, a student excluded before it (told by the old code) is not
told again at the next record, while withdrawing one of her fails is a transition; the
downgrade drops the table and keeps every ledger row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from idlbot.storage.db import create_engine, downgrade, sessionmaker, upgrade
from idlbot.storage.exclusion import SqlExclusions
from idlbot.storage.ledger import SqlQualification
from tests.qualification.support import course

T0 = datetime(2018, 10, 25, 12, 0, tzinfo=UTC)
BEFORE, AFTER = "0009_reminder_creator_id", "0010_exclusion_changes"

STUDENTS = sa.table(
    "students", sa.column("id", sa.Integer), sa.column("mattermost", sa.String),
    sa.column("gitlab", sa.String), sa.column("group_id", sa.String), sa.column("team_id", sa.String),
    sa.column("active", sa.Boolean), sa.column("updated_at", sa.DateTime(timezone=True)),
)  # fmt: skip
PRESENTATIONS = sa.table(
    "presentations", sa.column("id", sa.Integer), sa.column("student_id", sa.Integer),
    sa.column("assignment_id", sa.String), sa.column("outcome", sa.String), sa.column("note", sa.Text),
    sa.column("by", sa.String), sa.column("at", sa.DateTime(timezone=True)),
)  # fmt: skip


async def _execute(url: str, statement: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(statement)
            return [tuple(r) for r in result.all()] if result.returns_rows else []
    finally:
        await engine.dispose()


def _naive_utc(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Instants as naive UTC: SQLite hands them back naive, PostgreSQL aware."""
    return [
        tuple(
            v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) and v.tzinfo else v for v in r
        )
        for r in rows
    ]


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_an_old_exclusion_is_not_told_again_and_the_rows_survive_the_round_trip(
    empty_db_url: str,
) -> None:
    url = empty_db_url
    await upgrade(url, BEFORE)
    [(sid,)] = await _execute(url, STUDENTS.insert().returning(STUDENTS.c.id).values(
        mattermost="carol", gitlab="carol", group_id="g3", team_id="lyrics-b", active=True, updated_at=T0,
    ))  # fmt: skip
    old = [
        (sid, "a01", "fail", "could not explain it", "tutor3", T0),
        (sid, "a02", "fail", None, "sstober", T0),
    ]
    for row in old:
        await _execute(url, PRESENTATIONS.insert().values(dict(zip(
            ("student_id", "assignment_id", "outcome", "note", "by", "at"), row, strict=True
        ))))  # fmt: skip
    select_old = sa.select(
        PRESENTATIONS.c.student_id, PRESENTATIONS.c.assignment_id, PRESENTATIONS.c.outcome,
        PRESENTATIONS.c.note, PRESENTATIONS.c.by, PRESENTATIONS.c.at,
    ).order_by(PRESENTATIONS.c.id)  # fmt: skip

    await upgrade(url, AFTER)
    assert "exclusion_changes" in await _tables(url)
    assert _naive_utc(await _execute(url, select_old)) == _naive_utc(old)
    engine = create_engine(url)
    try:
        sessions = sessionmaker(engine)
        store, exclusions = SqlQualification(sessions, course()), SqlExclusions(sessions)
        await store.present("carol", "a03", "fail", note=None, by="tutor3", now=T0)  # 3 fails: still excluded
        assert await exclusions.history(sid) == []
        await store.present("carol", "a03", "ok", note=None, by="tutor3", now=T0)
        await store.present("carol", "a02", "ok", note="explained it", by="sstober", now=T0)  # 1 fail
        [back] = await exclusions.history(sid)
        assert (back.seq, back.excluded, back.fails, back.actor) == (1, False, 1, "sstober")
        assert await exclusions.unannounced() == [back]
    finally:
        await engine.dispose()

    await downgrade(url, BEFORE)
    assert "exclusion_changes" not in await _tables(url)
    after = _naive_utc(await _execute(url, select_old))
    assert after[0] == _naive_utc(old)[0] and [r[1:3] for r in after] == [
        ("a01", "fail"),
        ("a02", "ok"),
        ("a03", "ok"),
    ]
    assert await _execute(url, sa.select(STUDENTS.c.id, STUDENTS.c.mattermost)) == [(sid, "carol")]
