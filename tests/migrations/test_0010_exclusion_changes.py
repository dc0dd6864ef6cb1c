"""Revision 0010 on SQLite and PostgreSQL: `exclusion_changes` is added empty, the
ledger's rows are untouched, a student excluded before it (told by the old code) is not
told again at the next record, while withdrawing one of her fails is a transition; the
downgrade drops the table and keeps every ledger row."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from idlbot.storage.db import create_engine, downgrade, sessionmaker, upgrade
from idlbot.storage.exclusion import SqlExclusions
from idlbot.storage.ledger import SqlQualification
from tests.migrations.support import execute, naive_utc, tables
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


async def test_an_old_exclusion_is_not_told_again_and_the_rows_survive_the_round_trip(
    empty_db_url: str,
) -> None:
    url = empty_db_url
    await upgrade(url, BEFORE)
    [(sid,)] = await execute(url, STUDENTS.insert().returning(STUDENTS.c.id).values(
        mattermost="carol", gitlab="carol", group_id="g3", team_id="lyrics-b", active=True, updated_at=T0,
    ))  # fmt: skip
    old = [
        (sid, "a01", "fail", "could not explain it", "tutor3", T0),
        (sid, "a02", "fail", None, "sstober", T0),
    ]
    for row in old:
        await execute(url, PRESENTATIONS.insert().values(dict(zip(
            ("student_id", "assignment_id", "outcome", "note", "by", "at"), row, strict=True
        ))))  # fmt: skip
    select_old = sa.select(
        PRESENTATIONS.c.student_id, PRESENTATIONS.c.assignment_id, PRESENTATIONS.c.outcome,
        PRESENTATIONS.c.note, PRESENTATIONS.c.by, PRESENTATIONS.c.at,
    ).order_by(PRESENTATIONS.c.id)  # fmt: skip

    await upgrade(url, AFTER)
    assert "exclusion_changes" in await tables(url)
    assert naive_utc(await execute(url, select_old)) == naive_utc(old)
    await upgrade(url)  # today's repositories need today's schema (the course columns)
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
    assert "exclusion_changes" not in await tables(url)
    after = naive_utc(await execute(url, select_old))
    assert after[0] == naive_utc(old)[0] and [r[1:3] for r in after] == [
        ("a01", "fail"),
        ("a02", "ok"),
        ("a03", "ok"),
    ]
    assert await execute(url, sa.select(STUDENTS.c.id, STUDENTS.c.mattermost)) == [(sid, "carol")]
