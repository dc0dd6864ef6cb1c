"""What `idlbot run` loads: neither the chart's libraries (the chart renders in a worker
process) nor Alembic's Mako/Pygments (the bot only checks revisions) nor icalendar (until
a calendar is fetched) nor python-gitlab and requests (until the first GitLab call). Each
would stay in the bot's memory for good (issue 13: RSS went from 110 to 161 MB with
matplotlib), or, python-gitlab, cost 50-70 ms of the start-up's imports. Checked in a fresh
interpreter, as `idlbot run` starts."""

from __future__ import annotations

import subprocess
import sys

NOT_AT_RUN_TIME = (
    *("matplotlib", "numpy", "PIL", "alembic", "mako", "pygments", "icalendar"),
    *("gitlab", "requests", "requests_toolbelt"),
)


def test_the_bot_process_does_not_import_what_it_does_not_need() -> None:
    code = (
        "import sys\n"
        "import idlbot.cli, idlbot.app, idlbot.adapters.chart, idlbot.web.calendar\n"
        "from idlbot.storage import db, health, revisions\n"
        "revisions.head()\n"
        f"print(' '.join(m for m in {NOT_AT_RUN_TIME!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []


def test_httpcore_finds_sniffio_so_no_request_searches_the_path_for_it() -> None:
    """httpcore asks `import sniffio` several times per request (the Mattermost driver's
    httpx): absent, each ask is a failed import that searches every `sys.path` entry
    again, 53 us a time and ~0.3 ms of CPU per REST call; installed, it is a dict lookup."""
    code = (
        "import asyncio, sys\n"
        "from httpcore._synchronization import current_async_library\n"
        "async def ask():\n"
        "    return current_async_library()\n"
        "print(asyncio.run(ask()), 'sniffio' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["asyncio", "True"]


def test_a_postgresql_bot_does_not_load_the_sqlite_driver() -> None:
    """aiosqlite and the one-trip adapter (`storage/sqlite_driver.py`) are for SQLite
    engines: a bot on PostgreSQL would import them at start-up for nothing."""
    code = (
        "import sys\n"
        "import idlbot.cli, idlbot.app\n"
        "from idlbot.storage.db import create_engine\n"
        "create_engine('postgresql+asyncpg://idlbot@127.0.0.1:1/idlbot')\n"
        "print(' '.join(m for m in ('aiosqlite', 'idlbot.storage.sqlite_driver') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []
