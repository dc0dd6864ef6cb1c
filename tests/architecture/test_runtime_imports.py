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


def test_a_rest_call_goes_through_aiohttp_not_httpcore() -> None:
    """The driver's REST calls go through `AiohttpTransport`: httpcore (and anyio, and the
    sniffio it asks for several times per request) never run in the bot, so idlbot does not
    depend on sniffio. One post against a local aiohttp server, in a fresh interpreter."""
    code = (
        "import asyncio, sys\n"
        "from aiohttp import web\n"
        "from idlbot.adapters.mattermost.rest import MattermostChat\n"
        "async def main():\n"
        "    seen = []\n"
        "    async def post(request):\n"
        "        seen.append(await request.json())\n"
        "        return web.json_response({'id': 'p' * 26, 'channel_id': 'c' * 26}, status=201)\n"
        "    app = web.Application()\n"
        "    app.router.add_post('/api/v4/posts', post)\n"
        "    runner = web.AppRunner(app)\n"
        "    await runner.setup()\n"
        "    site = web.TCPSite(runner, '127.0.0.1', 0)\n"
        "    await site.start()\n"
        "    port = runner.addresses[0][1]\n"
        "    chat = MattermostChat(f'http://127.0.0.1:{port}', 't' * 26, team='idl', timeout=5)\n"
        "    try:\n"
        "        await chat.create_post('c' * 26, 'hello', key='k1')\n"
        "    finally:\n"
        "        await chat.close()\n"
        "        await runner.cleanup()\n"
        "    print(len(seen), ' '.join(m for m in ('httpcore', 'anyio', 'sniffio') if m in sys.modules))\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1"]


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
