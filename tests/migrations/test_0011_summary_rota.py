"""Revision 0011 on SQLite and PostgreSQL: the rota's four tables come empty and go again
on the downgrade; a pick stored after the upgrade is the one pick of its class date.

Raw SQL on the schema of 0011, not `SqlRotaStore`: the store follows the newest schema
(the course column of 0017), which a database at 0011 does not have yet."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from idlbot.storage.db import downgrade, upgrade
from tests.migrations.support import execute, tables

BEFORE, AFTER = "0010_exclusion_changes", "0011_summary_rota"
TABLES = {"summary_picks", "summary_excuses", "summary_swaps", "summary_pages"}
T0 = datetime(2018, 10, 23, 11, 15, tzinfo=UTC)
PICKS = sa.table(
    "summary_picks", sa.column("class_date", sa.Date), sa.column("writer", sa.String),
    sa.column("how", sa.String), sa.column("announced", sa.Boolean), sa.column("revision", sa.Integer),
    sa.column("picked_at", sa.DateTime(timezone=True)), sa.column("changed_at", sa.DateTime(timezone=True)),
)  # fmt: skip


def _pick(writer: str) -> sa.Insert:
    return PICKS.insert().values(
        class_date=date(2018, 10, 24), writer=writer, how="auto", announced=False, revision=1,
        picked_at=T0, changed_at=T0,
    )  # fmt: skip


async def test_the_rota_tables_come_and_go(empty_db_url: str) -> None:
    await upgrade(empty_db_url, BEFORE)
    assert not TABLES & await tables(empty_db_url)
    await upgrade(empty_db_url, AFTER)
    assert await tables(empty_db_url) >= TABLES
    await execute(empty_db_url, _pick("alice"))
    with pytest.raises(sa.exc.IntegrityError):  # one pick per class date
        await execute(empty_db_url, _pick("bob"))
    assert await execute(empty_db_url, sa.select(PICKS.c.writer)) == [("alice",)]
    await downgrade(empty_db_url, BEFORE)
    assert not TABLES & await tables(empty_db_url)
