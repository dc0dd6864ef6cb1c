"""The running bot reads schema revisions without Alembic (`storage.revisions`, 11 MB of
Mako and Pygments less in its memory); what it reads must be what Alembic says."""

from __future__ import annotations

from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from idlbot.storage import revisions
from idlbot.storage.db import alembic_config, create_engine, upgrade


def test_head_and_known_revisions_are_alembics() -> None:
    scripts = ScriptDirectory.from_config(alembic_config(""))
    assert revisions.head() == scripts.get_current_head()
    every = {rev.revision for rev in scripts.walk_revisions()}
    assert all(revisions.known(rev) for rev in every)
    assert revisions.known(None) and not revisions.known("9999_from_the_future")


async def test_current_revision_is_alembics(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    engine = create_engine(url)

    def both(conn: Connection) -> tuple[str | None, str | None]:
        return revisions.current(conn), MigrationContext.configure(conn).get_current_revision()

    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(both) == (None, None)  # empty database
        await upgrade(url, "0002_qualification")
        async with engine.connect() as conn:
            assert await conn.run_sync(both) == ("0002_qualification", "0002_qualification")
        await upgrade(url)
        async with engine.connect() as conn:
            assert await conn.run_sync(both) == (revisions.head(), revisions.head())
    finally:
        await engine.dispose()
