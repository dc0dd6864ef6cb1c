"""Work that can take long is acknowledged at once and answered through response_url.

Uses the real web route and the simulator's real response_url hook, with a registry of
test commands: one registered `slow=True` (GitLab/Slurm work will be), one that simply
overruns the inline budget."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from idlbot.adapters.mattermost.payloads import parse_user
from idlbot.adapters.mattermost.rest import MattermostChat
from idlbot.adapters.mattermost.setup import command_spec
from idlbot.clock import SystemClock
from idlbot.commands.context import Context, Ports
from idlbot.commands.dispatch import Dispatcher
from idlbot.commands.registry import CommandGroup, Registry
from idlbot.commands.reply import Reply
from idlbot.domain.chat import MattermostUser
from idlbot.metrics import Metrics
from idlbot.ports.health import HealthSnapshot
from idlbot.tasks import TaskPool
from idlbot.web.server import WebDeps, build_web_app, start_server
from tests.app.conftest import Harness, eventually, make_harness

group = CommandGroup("Test")


@group.command(
    "slowpoke", summary="Slow on purpose.", usage="slowpoke", examples={"slowpoke": "done slowly"}, slow=True
)
async def slowpoke(ctx: Context, args: str) -> Reply:
    await asyncio.sleep(0.2)
    return Reply.private("done slowly")


@group.command("dawdle", summary="Overruns the budget.", usage="dawdle", examples={"dawdle": "done late"})
async def dawdle(ctx: Context, args: str) -> Reply:
    await asyncio.sleep(0.5)
    return Reply.private("done late")


class NoHealth:
    async def snapshot(self) -> HealthSnapshot:
        raise AssertionError("not used")


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[tuple[Harness, WebDeps]]:
    h = await make_harness(db_url)
    tasks = TaskPool()
    session = aiohttp.ClientSession()

    async def lookup(user_id: str) -> MattermostUser:
        return parse_user(h.sim.state.users[user_id])

    dispatcher = Dispatcher(
        Registry([group]),
        lookup_user=lookup,
        course=h.settings.course,
        instructors=("sstober",),
        tutors=(),
        clock=SystemClock(),
        ports=Ports(),
    )
    deps = WebDeps(
        dispatcher=dispatcher,
        slash_token="",
        tasks=tasks,
        health=NoHealth(),
        metrics=Metrics(),
        http=lambda: session,
        inline_budget=0.1,
    )
    runner, port = await start_server(build_web_app(deps), "127.0.0.1", 0)
    chat = MattermostChat(h.sim.url, h.info["tokens"]["idlbot"], team="idl2018")
    await chat.login()
    spec = command_spec(chat.team_id, f"http://127.0.0.1:{port}", dispatcher.registry)
    existing = next(c for c in await chat.list_commands() if c["trigger"] == "idl")
    command = await chat.update_command(existing["id"], {**existing, **spec})
    deps.slash_token = command["token"]
    await chat.close()
    try:
        yield h, deps
    finally:
        await tasks.drain()
        await session.close()
        await runner.cleanup()
        await h.sim.stop()


def ephemerals_for(h: Harness, user: str) -> list[str]:
    return [e["message"] for e in h.sim.ephemerals if e["user_id"] == h.uid(user)]


async def test_slow_command_is_acknowledged_then_answered(world: tuple[Harness, WebDeps]) -> None:
    h, _ = world
    ack = await h.slash("alice", "/idl slowpoke")
    assert ack["text"] == "Working on it…"
    await eventually(lambda: "done slowly" in ephemerals_for(h, "alice"), what="the late answer")


async def test_command_overrunning_the_budget_is_answered_later(world: tuple[Harness, WebDeps]) -> None:
    h, _ = world
    ack = await h.slash("bob", "/idl dawdle")
    assert ack["text"] == "Working on it…"
    await eventually(lambda: "done late" in ephemerals_for(h, "bob"), what="the late answer")
