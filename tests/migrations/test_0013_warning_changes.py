"""Revision 0013 on SQLite and PostgreSQL: `warning_changes` is added empty, a student
at the last chance before it is warned once after it, and the downgrade drops the table
and keeps the roster."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from idlbot.storage.db import create_engine, downgrade, sessionmaker, upgrade
from idlbot.storage.warnings import SqlWarnings
from tests.migrations.support import tables

T0 = datetime(2018, 10, 25, 12, 0, tzinfo=UTC)
BEFORE, AFTER = "0010_exclusion_changes", "0013_warning_changes"

STUDENTS = sa.table(
    "students", sa.column("id", sa.Integer), sa.column("mattermost", sa.String),
    sa.column("active", sa.Boolean), sa.column("updated_at", sa.DateTime(timezone=True)),
)  # fmt: skip


async def test_the_table_comes_empty_and_goes_without_touching_the_roster(empty_db_url: str) -> None:
    url = empty_db_url
    await upgrade(url, BEFORE)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(STUDENTS.insert().values(mattermost="bob", active=True, updated_at=T0))
    finally:
        await engine.dispose()
    await upgrade(url, AFTER)
    assert "warning_changes" in await tables(url)
    await upgrade(url)  # today's repositories need today's schema (the course columns)
    engine = create_engine(url)
    try:
        store = SqlWarnings(sessionmaker(engine))
        assert await store.latest() == {}
        change = await store.record("bob", "last-chance", forecast="F.", now=T0)
        assert change is not None and (change.seq, change.previous) == (1, "ok")
    finally:
        await engine.dispose()
    await downgrade(url, BEFORE)
    assert "warning_changes" not in await tables(url)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(sa.select(STUDENTS.c.mattermost))).scalars().all() == ["bob"]
    finally:
        await engine.dispose()
