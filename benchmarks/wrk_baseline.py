"""The two baselines of `bench_wrk`, in a process of their own like the bot's.

    python -m benchmarks.wrk_baseline --port PORT --db-url URL

* `POST /bare`: a bare aiohttp handler that parses the same slash form as the bot
  (`await request.post()`) and answers a small JSON reply: what aiohttp itself costs.
* `POST /select`: the same, plus one indexed `SELECT` of the student's row (the unique
  `students.mattermost`) on the bot's database, through SQLAlchemy async with the bot's
  own `create_engine` and a Core connection, as its repositories read: the floor of
  any command that reads the database.

It is a separate process so that its CPU is measured apart from the benchmark's
(which also holds the Mattermost simulator), just as the bot's is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.storage.db import create_engine

STUDENT_ROW = text(
    "SELECT id, mattermost, gitlab, cluster, group_id, team_id FROM students WHERE mattermost = :name"
)
ENGINE = web.AppKey("engine", AsyncEngine)


def reply(text_: str) -> web.Response:
    payload = {"response_type": "ephemeral", "text": text_}
    return web.Response(body=json.dumps(payload).encode(), content_type="application/json")


async def bare(request: web.Request) -> web.Response:
    form = await request.post()
    return reply(f"ok {form.get('text', '')}")


async def select(request: web.Request) -> web.Response:
    form = await request.post()
    async with request.app[ENGINE].connect() as conn:
        row = (await conn.execute(STUDENT_ROW, {"name": str(form.get("user_name", ""))})).first()
    if row is None:
        return reply("not in the roster")
    return reply(f"{row.mattermost} is in group {row.group_id}")


async def serve(port: int, db_url: str) -> None:
    # a read needs no write lock: on SQLite no BEGIN IMMEDIATE (the bot's health probe
    # reads the same way); the floor of a read, not of a write
    engine = create_engine(db_url, immediate=False)
    app = web.Application()
    app[ENGINE] = engine
    app.router.add_post("/bare", bare)
    app.router.add_post("/select", select)
    app.router.add_get("/ready", lambda _: asyncio.sleep(0, web.Response(text="ok")))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await runner.cleanup()
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db-url", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.db_url))
