"""Revision 0012 on SQLite and PostgreSQL: the rota's two tables are added empty next to
the roster, which keeps its rows; the rota works on them at once; the downgrade drops
them (and the students' team index) and keeps every student."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from idlbot.storage.db import create_engine, downgrade, sessionmaker, upgrade
from idlbot.storage.presenters import SqlPresenters
from tests.migrations.support import execute

T0 = datetime(2018, 10, 25, 12, 0, tzinfo=UTC)
BEFORE, AFTER = "0010_exclusion_changes", "0012_presenters"
STUDENTS = sa.table(
    "students", sa.column("id", sa.Integer), sa.column("mattermost", sa.String),
    sa.column("team_id", sa.String), sa.column("active", sa.Boolean),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)  # fmt: skip


async def _inspect(url: str) -> tuple[set[str], set[str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:

            def look(c: sa.Connection) -> tuple[set[str], set[str]]:
                inspector = sa.inspect(c)
                return set(inspector.get_table_names()), {
                    i["name"] or "" for i in inspector.get_indexes("students")
                }

            return await conn.run_sync(look)
    finally:
        await engine.dispose()


async def test_the_rota_tables_come_and_go_and_the_roster_stays(empty_db_url: str) -> None:
    url = empty_db_url
    await upgrade(url, BEFORE)
    await execute(
        url, STUDENTS.insert().values(mattermost="carol", team_id="lyrics-b", active=True, updated_at=T0)
    )
    await upgrade(url, AFTER)
    tables, indexes = await _inspect(url)
    assert {"presenter_proposals", "team_presentations"} <= tables and "ix_students_team_id" in indexes
    await upgrade(url)  # today's repositories need today's schema (the course columns)
    engine = create_engine(url)
    try:
        store = SqlPresenters(sessionmaker(engine))
        made = await store.record("lyrics-b", "carol", date(2018, 10, 24), by="tutor1", now=T0)
        assert made is not None and made.created
        assert await store.propose("lyrics-b", date(2018, 10, 31), "carol", now=T0) == "carol"
    finally:
        await engine.dispose()
    await downgrade(url, BEFORE)
    tables, indexes = await _inspect(url)
    assert not {"presenter_proposals", "team_presentations"} & tables and "ix_students_team_id" not in indexes
    assert await execute(url, sa.select(STUDENTS.c.mattermost, STUDENTS.c.team_id)) == [("carol", "lyrics-b")]
