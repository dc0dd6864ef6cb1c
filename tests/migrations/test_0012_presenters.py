"""Revision 0012 on SQLite and PostgreSQL: the rota's two tables are added empty next to
the roster, which keeps its rows; the rota works on them at once; the downgrade drops
them (and the students' team index) and keeps every student.

Raw SQL on the schema of 0012, not `SqlPresenters`: the store follows the newest schema
(the course column of 0017), which a database at 0012 does not have yet."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from idlbot.storage.db import create_engine, downgrade, upgrade
from tests.migrations.support import execute

T0 = datetime(2018, 10, 25, 12, 0, tzinfo=UTC)
BEFORE, AFTER = "0010_exclusion_changes", "0012_presenters"
STUDENTS = sa.table(
    "students", sa.column("id", sa.Integer), sa.column("mattermost", sa.String),
    sa.column("team_id", sa.String), sa.column("active", sa.Boolean),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)  # fmt: skip
PRESENTED = sa.table(
    "team_presentations", sa.column("team_id", sa.String), sa.column("class_day", sa.Date),
    sa.column("student_id", sa.Integer), sa.column("by", sa.String),
    sa.column("at", sa.DateTime(timezone=True)),
)  # fmt: skip
PROPOSED = sa.table(
    "presenter_proposals", sa.column("team_id", sa.String), sa.column("class_day", sa.Date),
    sa.column("student_id", sa.Integer), sa.column("at", sa.DateTime(timezone=True)),
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
    [(carol,)] = await execute(url, sa.select(STUDENTS.c.id))
    await execute(url, PRESENTED.insert().values(
        team_id="lyrics-b", class_day=date(2018, 10, 24), student_id=carol, by="tutor1", at=T0,
    ))  # fmt: skip
    await execute(url, PROPOSED.insert().values(
        team_id="lyrics-b", class_day=date(2018, 10, 31), student_id=carol, at=T0,
    ))  # fmt: skip
    assert await execute(url, sa.select(PRESENTED.c.by)) == [("tutor1",)]
    assert await execute(url, sa.select(PROPOSED.c.class_day)) == [(date(2018, 10, 31),)]
    await downgrade(url, BEFORE)
    tables, indexes = await _inspect(url)
    assert not {"presenter_proposals", "team_presentations"} & tables and "ix_students_team_id" not in indexes
    assert await execute(url, sa.select(STUDENTS.c.mattermost, STUDENTS.c.team_id)) == [("carol", "lyrics-b")]
