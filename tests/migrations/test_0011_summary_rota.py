"""Revision 0011 on SQLite and PostgreSQL: the rota's four tables come empty and go again
on the downgrade; a pick stored after the upgrade is the one pick of its class date."""

from __future__ import annotations

from datetime import UTC, date, datetime

from idlbot.domain.rota import Pick
from idlbot.storage.db import create_engine, downgrade, upgrade
from idlbot.storage.rota import SqlRotaStore
from tests.migrations.support import tables

BEFORE, AFTER = "0010_exclusion_changes", "0011_summary_rota"
TABLES = {"summary_picks", "summary_excuses", "summary_swaps", "summary_pages"}
T0 = datetime(2018, 10, 23, 11, 15, tzinfo=UTC)


async def test_the_rota_tables_come_and_go(empty_db_url: str) -> None:
    await upgrade(empty_db_url, BEFORE)
    assert not TABLES & await tables(empty_db_url)
    await upgrade(empty_db_url, AFTER)
    assert await tables(empty_db_url) >= TABLES
    engine = create_engine(empty_db_url)
    try:
        store = SqlRotaStore(engine)
        first = await store.insert_pick(Pick(date(2018, 10, 24), "alice"), now=T0)
        again = await store.insert_pick(Pick(date(2018, 10, 24), "bob"), now=T0)
        assert first == again and first.writer == "alice"
    finally:
        await engine.dispose()
    await downgrade(empty_db_url, BEFORE)
    assert not TABLES & await tables(empty_db_url)
