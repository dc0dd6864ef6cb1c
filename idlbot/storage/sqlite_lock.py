"""One `idlbot run` per SQLite file: a second one is refused with one line at start.

SQLite serves one process well (the bot's own writer lock queues its transactions,
`_dialect.py`), and several replicas need leases that only PostgreSQL makes safe. So
`idlbot run` takes an exclusive `flock` on `<database file>.lock` before anything else.
The operating system drops it when the process ends, however it ends (`kill -9`
included): there is no stale lock to clean up, and the pid written into the file is only
for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from idlbot.domain.errors import OperatorError


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL and in-memory databases."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


class SqliteLock:
    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise `OperatorError` naming the process that holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise OperatorError(
                f"another idlbot run is using {self.database} (pid {holder}); "
                "SQLite serves one process — use PostgreSQL for several replicas"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
