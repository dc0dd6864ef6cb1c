"""Issue 15's acceptance run: two real `idlbot run` replicas, one deployment of two courses
(the example deployment: idl2018 and ml2019, each its own team and /idl), one PostgreSQL,
the Mattermost simulator.

While a fan-out of 600 DMs is being delivered, 50 slash commands go to both replicas
(alternating replica and course, each with its own team's token) and 20 users DM the bot
(every replica's websocket sees every DM); replica "a" is `kill -9`ed in the middle of
the fan-out. Then: every fan-out DM arrived exactly once, every DM to the bot was
answered exactly once and by the sender's course, every slash command was answered by its
team's course, "b" took the leases over within TTL + one renewal, and alice (a student of
both courses) was asked which course she means once, and her answer stuck.
The lease TTL is 2 s (`IDLBOT_LEASE_TTL`) so the run takes seconds.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from idlbot.adapters.mattermost.rest import KEY_PROP
from idlbot.clock import SystemClock
from idlbot.config import load_deployment
from idlbot.devtools.demo_seed import seed
from idlbot.devtools.sim.mattermost import MattermostSim
from idlbot.domain.ledger import Student
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.outbox import SqlOutbox
from idlbot.storage.roster import SqlRoster
from tests.app.conftest import drained, eventually, register_in
from tests.app.test_cli_deployment import write_deployment
from tests.app.test_replicas_e2e import holds_all, holds_every_pass, start_replica, stop_all
from tests.support.configfile import free_port, set_key

TTL = 2.0
FANOUT = 600
SLASH = 50
IDL, ML = "idl2018", "ml2019"
SOLO_IDL = [f"s{n:03d}" for n in range(1, 9)]  # DM the bot: idl2018 students
SOLO_ML = [f"m{n:03d}" for n in range(1, 9)]  # DM the bot: ml2019 students
FANNED = [f"f{n:03d}" for n in range(FANOUT)]  # receive the fan-out


class World:
    """The simulator seeded with both courses' teams, channels and people."""

    def __init__(self, sim: MattermostSim, info: dict[str, Any], teams: dict[str, str]) -> None:
        self.sim, self.info, self.teams = sim, info, teams
        self.channels: dict[tuple[str, str], str] = {}

    def uid(self, name: str) -> str:
        return str(self.info["users"][name])

    def dm_channel(self, name: str) -> str:
        return str(self.sim.direct_channel(self.uid(name), self.uid("idlbot"))["id"])

    def bot_keys(self, prefix: str) -> Counter[str]:
        bot = self.uid("idlbot")
        return Counter(
            str(p["props"].get(KEY_PROP))
            for p in self.sim.posts
            if p["user_id"] == bot and str((p.get("props") or {}).get(KEY_PROP, "")).startswith(prefix)
        )

    def replies(self, post_id: str) -> list[str]:
        key = f"reply:{post_id}"
        bot = self.uid("idlbot")
        return [
            str(p["message"])
            for p in self.sim.posts
            if p["user_id"] == bot and (p.get("props") or {}).get(KEY_PROP) == key
        ]


async def _world(sim: MattermostSim, deploy: Path) -> World:
    env = {"IDLBOT_MATTERMOST_TOKEN": "x" * 26, "IDLBOT_SLASH_TOKEN_IDL2018": "y" * 26}
    env["IDLBOT_SLASH_TOKEN_ML2019"] = "z" * 26
    idl, ml = load_deployment(deploy, env=env).courses
    info = seed(sim, idl)  # team idl2018, the bot, staff, alice/bob/carol, channels
    team_ml = sim.add_team(ml.mattermost.team, ml.course.name)
    for name in [*SOLO_IDL, *SOLO_ML, *FANNED]:
        user = sim.add_user(name)
        info["users"][name] = user["id"]
        sim.add_team_member(info["team_id"], user["id"])
    ml_channels = {n: sim.add_channel(team_ml["id"], n) for n in sorted(set(ml.mattermost.channels.values()))}
    for name, user_id in info["users"].items():
        sim.add_team_member(team_ml["id"], user_id, admin=name == "idlbot")
        for channel in ml_channels.values():
            sim.add_channel_member(channel["id"], user_id)
    return World(sim, info, {IDL: str(info["team_id"]), ML: str(team_ml["id"])})


async def _rosters(db_url: str, now: Any) -> None:
    engine = create_engine(db_url)
    try:
        idl = SqlRoster(sessionmaker(engine), course=IDL)
        ml = SqlRoster(sessionmaker(engine), course=ML)
        for name in ["alice", "bob", "carol", *SOLO_IDL, *FANNED[: FANOUT // 2]]:
            await idl.upsert(Student(mattermost=name, gitlab=name, cluster=name, group_id="g1"), now=now)
        for name in ["alice", *SOLO_ML, *FANNED[FANOUT // 2 :]]:
            await ml.upsert(Student(mattermost=name, gitlab=name, cluster=name, group_id="g1"), now=now)
    finally:
        await engine.dispose()


async def _slash(port: int, world: World, course: str, token: str, n: int) -> str:
    form = {
        "channel_id": world.dm_channel("alice"),
        "command": "/idl",
        "response_url": f"{world.sim.url}/hooks/commands/abcdefghijklmnopqrstuvwxyz",
        "team_id": world.teams[course],
        "text": "use",
        "token": token,
        "user_id": world.uid("bob" if course == IDL else f"m{1 + n % 8:03d}"),
        "user_name": "bob",
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}/mattermost/command", data=form) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["text"])


async def _slashes(
    world: World, ports: dict[str, int], procs: dict[str, asyncio.subprocess.Process], tokens: dict[str, str]
) -> list[tuple[str, str]]:
    """The 50 slash commands, alternating course; each course's alternate between the
    replicas, as a load balancer would, which sends a request a dead replica refused
    to the other one."""
    answers = []
    for n in range(SLASH):
        course = IDL if n % 2 == 0 else ML
        order = ["a", "b"] if (n // 2) % 2 == 0 else ["b", "a"]
        for replica in [r for r in order if procs[r].returncode is None]:
            try:
                answers.append((course, await _slash(ports[replica], world, course, tokens[course], n)))
                break
            except aiohttp.ClientError:
                continue  # killed while answering: the balancer retries on the other
    return answers


async def _kill_mid_fanout(
    world: World, a: asyncio.subprocess.Process, b_port: int, every: set[str]
) -> tuple[int, float]:
    """`kill -9` replica a once a third of the fan-out is out; then wait for b to hold every
    lease: (DMs sent before the kill, seconds from the kill to b holding them all)."""
    await eventually(lambda: len(world.bot_keys("fan:")) >= FANOUT // 3, timeout=60, what="a third out")
    sent = len(world.bot_keys("fan:"))
    loop = asyncio.get_running_loop()
    a.send_signal(signal.SIGKILL)
    await a.wait()
    killed = loop.time()
    await eventually(lambda: holds_all(b_port, every), timeout=30, what="b taking the leases over")
    return sent, loop.time() - killed


async def _dm_everyone(world: World) -> dict[str, list[str]]:
    """The 20 DMs to the bot (alice, in both courses, twice); their post ids by sender."""
    dms: dict[str, list[str]] = {}
    for name in ["alice", "alice", "bob", "carol", *SOLO_IDL, *SOLO_ML]:
        text = "whoami" if name == "alice" else "use"  # `use` itself is never asked about
        post = await world.sim.user_post(world.uid(name), world.dm_channel(name), text)
        dms.setdefault(name, []).append(str(post["id"]))
    return dms


async def _check_dms(world: World, dms: dict[str, list[str]]) -> None:
    """Each answered once, by the sender's course; alice asked once, and her answer sticks."""
    for name, post_ids in dms.items():
        for post_id in post_ids:
            found = await eventually(partial(world.replies, post_id), timeout=30, what=f"{name}'s reply")
            assert len(found) == 1, (name, found)
    asked = [world.replies(p)[0].count("I ask only once") for p in dms["alice"]]
    assert sorted(asked) == [0, 1], asked  # the two DMs may be answered in either order
    for name in [*SOLO_IDL, "bob", "carol"]:
        assert f"(`{IDL}`)" in world.replies(dms[name][0])[0], name
    for name in SOLO_ML:
        assert f"(`{ML}`)" in world.replies(dms[name][0])[0], name
    assert f"(`{ML}`) from now on" in await _dm(world, "alice", f"use {ML}")
    assert f"(`{ML}`)" in await _dm(world, "alice", "use")  # the answer sticks


@pytest.mark.timeout(240)
async def test_two_replicas_two_courses_fanout_slash_and_dms_through_a_kill_9(
    postgres_db_url: str, tmp_path: Path
) -> None:
    db_url = postgres_db_url
    sim = MattermostSim()
    procs: list[asyncio.subprocess.Process] = []
    engine = create_engine(db_url)
    log = tmp_path / "bots.log"
    try:
        url = await sim.start()
        ports = {"a": free_port(), "b": free_port()}
        configs = {}
        for name, port in ports.items():
            (tmp_path / name).mkdir()
            deploy = write_deployment(tmp_path / name, mattermost_url=url, port=port)
            deploy.write_text(set_key(deploy.read_text(), "database", "url", f'"{db_url}"'))
            configs[name] = deploy
        world = await _world(sim, configs["a"])
        bot_token = world.info["tokens"]["idlbot"]
        tokens = {
            IDL: await register_in(sim.url, bot_token, IDL),
            ML: await register_in(sim.url, bot_token, ML),
        }
        now = SystemClock().now()
        await _rosters(db_url, now)
        env = {
            **os.environ,
            "IDLBOT_MATTERMOST_TOKEN": bot_token,
            "IDLBOT_SLASH_TOKEN_IDL2018": tokens[IDL],
            "IDLBOT_SLASH_TOKEN_ML2019": tokens[ML],
            "IDLBOT_LEASE_TTL": str(TTL),
        }

        async def start(name: str) -> asyncio.subprocess.Process:
            return await start_replica(name, configs[name], env, ports[name], log, procs)

        a = await start("a")
        every = await eventually(
            lambda: holds_every_pass(ports["a"]), timeout=15, what="a holding every pass"
        )
        assert {"announcements [idl2018]", "announcements [ml2019]", "pruning"} <= every
        outbox = SqlOutbox(sessionmaker(engine))
        # each DM channel takes a while: the fan-out lasts long enough to kill a in the middle of it
        sim.faults.route_latency["POST /api/v4/channels/direct"] = 0.25
        users = [(f"fan:{name}", world.uid(name)) for name in FANNED]
        await outbox.enqueue_dms(items=users, message="The exam rooms are online.", now=now)
        await eventually(lambda: len(world.bot_keys("fan:")) >= 20, timeout=30, what="a fanning out")
        b = await start("b")
        killer = asyncio.create_task(_kill_mid_fanout(world, a, ports["b"], every))
        dms = await _dm_everyone(world)  # both websockets see each of them
        answers = await _slashes(world, ports, {"a": a, "b": b}, tokens)
        sent_before_kill, takeover = await killer
        assert sent_before_kill < FANOUT, "the fan-out ended before the kill; raise the latency"
        print(
            f"\nleases taken over {takeover:.2f} s after kill -9 (TTL {TTL} s); {sent_before_kill} DMs before"
        )
        assert takeover <= TTL + TTL / 4 + 2.0

        await eventually(lambda: len(world.bot_keys("fan:")) == FANOUT, timeout=120, what="the whole fan-out")
        await _check_dms(world, dms)
        await drained(outbox, timeout=30)  # every row sent: a duplicate would be in the simulator now
        fan = world.bot_keys("fan:")
        assert len(fan) == FANOUT and set(fan.values()) == {1}, fan.most_common(3)
        assert len(answers) == SLASH
        for course, text in answers:
            assert f"(`{course}`)" in text, (course, text)
    finally:
        await stop_all(procs)
        await engine.dispose()
        await sim.stop()
    assert procs[1].returncode == 0, log.read_text()[-2000:]


async def _dm(world: World, name: str, text: str) -> str:
    post = await world.sim.user_post(world.uid(name), world.dm_channel(name), text)
    found: list[str] = await eventually(lambda: world.replies(str(post["id"])), timeout=20, what=text)
    assert len(found) == 1, found
    return found[0]
