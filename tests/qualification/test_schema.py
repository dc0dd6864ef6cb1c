"""Revision 0002 creates exactly the qualification tables and removes them on downgrade."""

from __future__ import annotations

from sqlalchemy import inspect

from idlbot.storage.db import create_engine, downgrade, upgrade

TABLES = {
    "students",
    "hand_ins",
    "overrides",
    "presentations",
    "wiki_posts",
    "group_papers",
    "audit",
    "seen_events",
}


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_0002_up_down_up(empty_db_url: str) -> None:
    await upgrade(empty_db_url, "0002_qualification")
    assert await _tables(empty_db_url) >= TABLES
    await downgrade(empty_db_url, "0001_foundation")
    assert not TABLES & await _tables(empty_db_url)
    await upgrade(empty_db_url, "0002_qualification")  # at head, 0007 moved seen_events into delivery_keys
    assert await _tables(empty_db_url) >= TABLES
