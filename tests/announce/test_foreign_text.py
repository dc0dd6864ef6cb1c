"""Maintenance notices and the announcement button: reasons, cluster, window, job and
channel names are foreign; only the bot's own `@all` of a maintenance notice may ping."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.clock import FakeClock
from idlbot.commands import announce
from idlbot.commands.registry import Registry
from idlbot.devtools.sim.mm_mentions import parse_post
from idlbot.services.maintenance import MaintenanceService
from idlbot.storage.announce import SqlMaintenanceStore
from idlbot.web.actions import ACTION_PATH, action_handler
from tests.support.foreign import HOSTILE, assert_safe

from .conftest import BERLIN, FakeSlurm, MakeCtx, Stack, _channel, job, resolve

START = datetime(2018, 10, 26, 4, 0, tzinfo=BERLIN)
END = datetime(2018, 10, 26, 12, 0, tzinfo=BERLIN)
REGISTRY = Registry([announce.group])


async def test_maintenance_reason_cluster_and_job_names_ping_nobody(
    engine: AsyncEngine, stack: Stack, slurm: FakeSlurm, clock: FakeClock
) -> None:
    running = job(7, "alice", "RUNNING", start=clock.now(), limit=timedelta(days=4))
    slurm.jobs = [replace(running, name=HOSTILE)]
    service = MaintenanceService(
        slurm, SqlMaintenanceStore(engine), stack.outbox, _channel, resolve,
        channel="cluster", tz=BERLIN, cluster_name="@here_ gpu",
    )  # fmt: skip
    await service.add(START, END, HOSTILE, by="sstober", ignore_jobs=True, now=clock.now())
    notice, dm = (p["message"] for p in await stack.posts())
    assert parse_post(notice).channel_wide and notice.startswith("@all ")  # the bot's own wording
    assert_safe(notice.removeprefix("@all "))
    assert_safe(dm)
    assert "evil" in notice and "evil" in dm


async def test_the_buttons_update_echoes_the_channel_name_safely(
    make_ctx: MakeCtx, stack: Stack, clock: FakeClock
) -> None:
    reply = await REGISTRY.run(make_ctx(), "announce --channel @ALL_ --notify none Hi")
    context: dict[str, Any] = reply.props["attachments"][0]["actions"][0]["integration"]["context"]
    app = web.Application()
    app.router.add_post(ACTION_PATH, action_handler(stack.announcements, clock=clock))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        clicked = await client.post(ACTION_PATH, json={"user_id": "id-sstober", "context": context})
        body = await clicked.json()
    finally:
        await client.close()
    assert "posted to" in body["update"]["message"]
    assert_safe(body["update"]["message"])
    assert_safe(reply.text)
