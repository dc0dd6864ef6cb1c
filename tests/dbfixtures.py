"""Database fixtures: every storage test runs on SQLite and on PostgreSQL.

Load with ``pytest_plugins = ["tests.dbfixtures"]`` (tests/conftest.py does).

* ``empty_db_url``: a fresh, unmigrated database URL (param ``sqlite`` / ``postgres``).
* ``db_url``: the same, migrated to head.
* ``engine``: an :class:`AsyncEngine` on ``db_url``, disposed afterwards.
* ``postgres_db_url``: PostgreSQL only, migrated, for tests of PostgreSQL behaviour
  (row locks); not parametrized, so SQLite runs do not report a skip.
* ``postgres_server_url``: the server's URL without a database, for programs that make
  their own (the benchmarks' smoke runs); skips like the others.

PostgreSQL isolation: each test gets its own ``CREATE DATABASE idlbot_test_<pid>_<hex>``
on the server from ``IDLBOT_TEST_POSTGRES_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``), dropped ``WITH (FORCE)`` when
the test ends, so tests (and concurrent test runs) never see each other's rows.

Migrated databases are copies: each test process migrates one template per database kind
once (a PostgreSQL ``CREATE DATABASE … TEMPLATE``, a copied SQLite file), because running
every migration for each of ~300 tests cost about a second each on PostgreSQL. The
migration tests themselves start from ``empty_db_url`` and run every step.
Without the env var and with the default server unreachable, the postgres
param is skipped with the reason shown in ``pytest -rs``.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from idlbot.storage.db import create_engine, upgrade

__all__ = ["db_url", "empty_db_url", "engine", "postgres_db_url", "postgres_server_url"]

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ENV_VAR = "IDLBOT_TEST_POSTGRES_URL"

_reachable: dict[str, str | None] = {}  # url -> None if reachable, else the error


def _postgres_admin_url() -> tuple[str, bool]:
    explicit = os.environ.get(ENV_VAR)
    return (explicit or DEFAULT_POSTGRES_URL), explicit is not None


async def _probe(url: str) -> str | None:
    if url not in _reachable:
        eng = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": 3})
        try:
            async with eng.connect() as conn:
                await conn.execute(text("SELECT 1"))
            _reachable[url] = None
        except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
            _reachable[url] = f"{type(exc).__name__}: {exc}"
        finally:
            await eng.dispose()
    return _reachable[url]


_templates: dict[str, str] = {}  # "postgres" -> template database name, "sqlite" -> file path


async def _postgres_template(admin_url: str) -> str:
    """A database of this process migrated to head, to copy from (dropped at exit)."""
    if "postgres" not in _templates:
        name = f"idlbot_template_{os.getpid()}_{secrets.token_hex(4)}"
        admin = create_async_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            await admin.dispose()
        await upgrade(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
        _templates["postgres"] = name
        atexit.register(_drop_template, admin_url, name)
    return _templates["postgres"]


def _drop_template(admin_url: str, name: str) -> None:
    async def drop() -> None:
        admin = create_async_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            await admin.dispose()

    asyncio.run(drop())


async def _sqlite_template() -> Path:
    if "sqlite" not in _templates:
        folder = Path(tempfile.mkdtemp(prefix="idlbot-template-"))
        atexit.register(shutil.rmtree, folder, True)
        await upgrade(f"sqlite+aiosqlite:///{folder / 'template.db'}")
        _templates["sqlite"] = str(folder / "template.db")
    return Path(_templates["sqlite"])


async def _reachable_admin_url() -> str:
    """The server's admin URL; skips the test (fails it, when the env var was set) if
    the server cannot be reached."""
    admin_url, explicit = _postgres_admin_url()
    error = await _probe(admin_url)
    if error is not None:
        if explicit:
            pytest.fail(f"{ENV_VAR}={admin_url} is set but not usable: {error}")
        pytest.skip(f"PostgreSQL not reachable at {admin_url} ({error}); set {ENV_VAR}")
    return admin_url


async def _postgres_database(*, migrated: bool = False) -> AsyncIterator[str]:
    admin_url = await _reachable_admin_url()
    name = f"idlbot_test_{os.getpid()}_{secrets.token_hex(4)}"
    template = f' TEMPLATE "{await _postgres_template(admin_url)}"' if migrated else ""
    admin = create_async_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"{template}'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'idlbot.db'}"
        return
    async for url in _postgres_database():
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "idlbot.db"
        shutil.copyfile(await _sqlite_template(), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    async for url in _postgres_database(migrated=True):
        yield url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db_url)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
async def postgres_db_url() -> AsyncIterator[str]:
    async for url in _postgres_database(migrated=True):
        yield url


@pytest.fixture
async def postgres_server_url() -> str:
    """The server alone, no database (`postgresql+asyncpg://user@host:port`), for a
    program that makes and drops its own databases (the benchmarks' smoke runs)."""
    admin_url = await _reachable_admin_url()
    return make_url(admin_url)._replace(database=None).render_as_string(hide_password=False)
