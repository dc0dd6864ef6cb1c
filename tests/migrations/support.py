"""What every migration test does to a database outside the app: list its tables, run one
statement in its own engine (the app's engines would cache the schema of the moment)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from idlbot.storage.db import create_engine, current_revision


async def tables(url: str) -> set[str]:
    """The tables in the database, Alembic's own version table included."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def revision(url: str) -> str | None:
    """The revision stamped in the database (None: unmigrated), read on an engine of its own."""
    engine = create_engine(url)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


async def execute(url: str, statement: Any) -> list[tuple[Any, ...]]:
    """Run one statement in a transaction of its own; the rows it returns, if any."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(statement)
            return [tuple(r) for r in result.all()] if result.returns_rows else []
    finally:
        await engine.dispose()


def naive_utc(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Instants as naive UTC: SQLite hands them back naive, PostgreSQL aware."""
    return [
        tuple(
            v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) and v.tzinfo else v for v in r
        )
        for r in rows
    ]
