"""Whether the database can be opened at all, said in one line when it cannot.

The first connection of `run`, `migrate` and `roster import` goes through `check`, so a
missing PostgreSQL database, a wrong user, a closed port or an SQLite file in a
directory that does not exist reads as what is wrong and what to do, not as asyncpg's
or sqlite3's traceback.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.domain.errors import OperatorError

FIX = "or fix [database] url in the config"


class DatabaseUnavailable(OperatorError):
    """The database cannot be opened (exit status 1: the environment, not the code)."""


async def check(engine: AsyncEngine) -> None:
    """Open and close one connection; raise `DatabaseUnavailable` if that fails."""
    _check_sqlite_directory(engine.url)
    try:
        async with engine.connect():
            pass
    except (OSError, DBAPIError) as err:
        raise DatabaseUnavailable(explain(engine.url, err)) from err


def _check_sqlite_directory(url: URL) -> None:
    """Checked before connecting: a failed aiosqlite connect leaves its worker thread to
    report to a loop that may be closed by then (a traceback after our one line)."""
    name = url.database or ""
    if url.get_backend_name() != "sqlite" or name in ("", ":memory:") or name.startswith("file:"):
        return
    directory = Path(name).absolute().parent
    if not directory.is_dir():
        problem = "its directory does not exist"
    elif not os.access(directory, os.W_OK | os.X_OK):
        problem = "its directory is not writable for this user"
    else:
        return
    raise DatabaseUnavailable(
        f"cannot open the SQLite database {name!r}: {problem} ({directory}); create it "
        f"and make it writable for this user, {FIX}"
    )


def explain(url: URL, err: BaseException) -> str:
    reason = (str(err.orig) if isinstance(err, DBAPIError) else str(err)).splitlines()[0]
    if url.get_backend_name() == "sqlite":
        return (
            f"cannot open the SQLite database {url.database!r} ({reason}): create its directory "
            f"and make it writable for this user, {FIX}"
        )
    where = f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}"
    if isinstance(err, socket.gaierror):
        return f"cannot resolve the database host {url.host!r} ({reason}): {FIX.removeprefix('or ')}"
    if isinstance(err, TimeoutError):
        return f"{where} did not answer in time: check that it runs and is reachable, {FIX}"
    if isinstance(err, OSError):
        why = "connection refused" if isinstance(err, ConnectionRefusedError) else reason
        return f"cannot connect to {where} ({why}): start PostgreSQL there, {FIX} (host and port)"
    if "database" in reason and "does not exist" in reason:
        return (
            f"{where} has no database {url.database!r}: create it "
            f"(createdb -h {url.host or 'localhost'} -p {url.port or 5432} -U {url.username or 'postgres'} "
            f"{url.database}), {FIX}"
        )
    if "role" in reason or "authentication" in reason or "pg_hba" in reason or "password" in reason:
        return (
            f"{where} refused user {url.username!r} ({reason}): fix the user in [database] url, "
            "or give the password in PGPASSWORD or ~/.pgpass"
        )
    return f"cannot open the database at {where} ({reason}): check that it runs, {FIX}"
