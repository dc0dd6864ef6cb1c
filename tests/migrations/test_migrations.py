"""Schema management on both dialects: up/down/up, models == migrations, startup guard."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from idlbot.storage.db import (
    SchemaOutdated,
    alembic_config,
    create_engine,
    downgrade,
    downgrade_sync,
    ensure_up_to_date,
    head_revision,
    upgrade,
    upgrade_sync,
)
from idlbot.storage.schema import metadata
from tests.migrations.support import revision

# every table the models declare (each feature's models module is imported by schema.py)
TABLES = set(metadata.tables)
assert {"outbox", "handled_posts", "channel_cursors"} <= TABLES
REPO = Path(__file__).resolve().parents[2]


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    return names - {"alembic_version"}


async def _diff(url: str) -> list[Any]:
    def compare(conn: Connection) -> list[Any]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(ctx, metadata))

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade(empty_db_url: str) -> None:
    assert await revision(empty_db_url) is None
    await upgrade(empty_db_url)
    assert await revision(empty_db_url) == head_revision()
    assert await _tables(empty_db_url) == TABLES

    await downgrade(empty_db_url, "base")
    assert await revision(empty_db_url) is None
    assert await _tables(empty_db_url) == set()

    await upgrade(empty_db_url, "head")
    assert await _tables(empty_db_url) == TABLES
    assert await revision(empty_db_url) == head_revision()


async def test_models_and_migrations_agree(db_url: str) -> None:
    assert await _diff(db_url) == []


async def test_comparison_is_not_vacuous(db_url: str) -> None:
    """The agreement test must notice a changed type and a missing table, on both dialects."""
    from sqlalchemy import MetaData, String

    altered = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        if table.name != "channel_cursors":
            table.to_metadata(altered)
    altered.tables["outbox"].c.key.type = String(100)

    def compare(conn: Connection) -> list[Any]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, altered))

    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(compare)
    finally:
        await engine.dispose()
    flat = [op for entry in diff for op in (entry if isinstance(entry, list) else [entry])]
    kinds = {op[0] for op in flat}
    assert kinds == {"remove_table", "modify_type"}, diff


async def test_ensure_up_to_date(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        with pytest.raises(SchemaOutdated) as info:
            await ensure_up_to_date(engine)
        assert info.value.current is None
        assert info.value.head == head_revision()
        assert "idlbot migrate --config PATH" in str(info.value)

        await upgrade(empty_db_url)
        await ensure_up_to_date(engine)

        await downgrade(empty_db_url, "base")
        with pytest.raises(SchemaOutdated):
            await ensure_up_to_date(engine)
    finally:
        await engine.dispose()


async def test_ensure_up_to_date_on_unknownrevision(db_url: str) -> None:
    from sqlalchemy import text

    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        with pytest.raises(SchemaOutdated, match="newer idlbot") as info:
            await ensure_up_to_date(engine)
        assert info.value.current == "9999_future"
    finally:
        await engine.dispose()


async def test_sync_wrappers_work_inside_a_running_loop(empty_db_url: str) -> None:
    # Called from sync code while this thread's loop is running: must not nest asyncio.run.
    upgrade_sync(empty_db_url)
    assert await revision(empty_db_url) == head_revision()
    downgrade_sync(empty_db_url, "base")
    assert await revision(empty_db_url) is None


def test_sync_wrappers_work_without_a_loop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}"
    upgrade_sync(url)
    assert asyncio.run(revision(url)) == head_revision()


def test_alembic_config_needs_no_ini_file() -> None:
    cfg = alembic_config("sqlite+aiosqlite:///x%20y.db")
    assert cfg.config_file_name is None
    script_location = Path(cfg.get_main_option("script_location") or "")
    assert (script_location / "env.py").is_file()
    assert (script_location / "script.py.mako").is_file()
    assert cfg.get_main_option("sqlalchemy.url") == "sqlite+aiosqlite:///x%20y.db"


async def test_developer_alembic_cli(empty_db_url: str) -> None:
    """The repo's alembic.ini + env.py's asyncio.run path (no shared connection)."""
    alembic = [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini"), "-x", f"url={empty_db_url}"]

    def run(*args: str) -> None:
        subprocess.run([*alembic, *args], cwd=REPO, check=True, capture_output=True, timeout=60)

    await asyncio.to_thread(run, "upgrade", "head")
    assert await revision(empty_db_url) == head_revision()
    await asyncio.to_thread(run, "downgrade", "base")
    assert await _tables(empty_db_url) == set()
