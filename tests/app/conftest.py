"""The whole bot against the Mattermost simulator, over real sockets.

`Harness` seeds the example course into a fresh simulator, registers /idl like
`idlbot setup-mattermost` does, and runs the real Bot on the `db_url` database
(SQLite and PostgreSQL). Helpers wait for network events with a deadline; none waits
on the wall clock for time logic: a test that needs a periodic pass runs it
(`bot.periodic.run_due(clock.now())`, or `settle()`), and "nothing more arrives" is
the outbox drained after that, not a pause.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from idlbot.adapters.mattermost.rest import KEY_PROP, MattermostChat
from idlbot.adapters.mattermost.setup import setup_command
from idlbot.app import Bot, Tuning
from idlbot.clock import Clock, ShiftedClock
from idlbot.commands import build_registry
from idlbot.config import Settings, example_config_path, load
from idlbot.devtools.demo import DEMO_START, STUDENTS, seed, with_endpoints
from idlbot.devtools.demo_gitlab import register_hooks, seed_gitlab
from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.devtools.sim.mattermost import MattermostSim
from idlbot.storage.outbox import SqlOutbox

FAST = Tuning(
    ws_backoff_base=0.05,
    ws_backoff_cap=1.0,
    ws_auth_retry=1.0,
    outbox_backoff_base=0.05,
    outbox_backoff_cap=1.0,
    outbox_poll=0.05,
    inline_budget=2.0,
    login_backoff_cap=1.0,
)


async def eventually(check: Callable[[], Any], *, timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


async def drained(outbox: SqlOutbox, timeout: float = 10.0) -> None:
    """Wait until the outbox has delivered everything queued so far (also a bot in another
    process: it is the database's table). Every post of the bot goes through it, so from
    then on nothing arrives that is not queued anew."""

    async def empty() -> bool:
        backlog, _ = await outbox.backlog()
        return backlog == 0

    await eventually(empty, timeout=timeout, what="the outbox to drain")


@dataclass
class Harness:
    sim: MattermostSim
    settings: Settings
    info: dict[str, Any]
    db_url: str
    tuning: Tuning
    bots: list[Bot] = field(default_factory=list)
    gitlab: GitLabSim | None = None
    gitlab_world: dict[str, Any] = field(default_factory=dict)
    # False: only the course project's hook is seeded; the repositories get theirs from
    # `setup-gitlab` or the bot's reconciliation, as in a real course
    seed_repo_hooks: bool = True
    # each bot's clock; the 2018 course by default, the real time where a real Slurm is involved
    clock: Callable[[], Clock] = lambda: ShiftedClock(DEMO_START)

    async def close(self) -> None:
        while self.bots:
            await self.stop_bot()
        await self.sim.stop()
        if self.gitlab is not None:
            await self.gitlab.stop()

    @property
    def bot(self) -> Bot:
        return self.bots[-1]

    def uid(self, username: str) -> str:
        return str(self.info["users"][username])

    def channel(self, name: str) -> str:
        return str(self.info["channels"][name])

    async def start_bot(self) -> Bot:
        bot = Bot(self.settings, tuning=self.tuning, clock=self.clock())
        await bot.start()
        self.bots.append(bot)
        await asyncio.wait_for(bot.ready.wait(), 10)
        await register(self, f"http://127.0.0.1:{bot.port}")
        if self.gitlab is not None:
            world = self.gitlab_world if self.seed_repo_hooks else {**self.gitlab_world, "repos": {}}
            register_hooks(self.gitlab, world, f"http://127.0.0.1:{bot.port}/gitlab/webhook", WEBHOOK_SECRET)
        await eventually(lambda: bot.websocket is not None and bot.websocket.connected, what="websocket")
        return bot

    async def stop_bot(self) -> None:
        bot = self.bots.pop()
        await bot.stop()

    async def drained(self, timeout: float = 10.0) -> None:
        await drained(self.bot.outbox, timeout)

    async def settle(self, *passes: str) -> None:
        """Run the named periodic passes (all when none is named) once more, then wait for
        the outbox to deliver what they queued: a duplicate would be in the simulator now."""
        await self.bot.periodic.run_now(*passes)
        await self.drained()

    async def slash(self, username: str, text: str, channel: str = "town-square") -> dict[str, Any]:
        result: dict[str, Any] = await self.sim.execute_command(
            self.uid(username), self.channel(channel), text
        )
        return result

    async def answer(self, username: str, text: str, timeout: float = 10.0) -> str:
        """The reply the user finally sees: inline, or via response_url for slow commands."""
        before = len(self.sim.ephemerals)
        result = await self.slash(username, text)
        if result.get("text") != "Working on it…":
            return str(result["text"])

        def late() -> str | None:
            mine = [e for e in self.sim.ephemerals[before:] if e["user_id"] == self.uid(username)]
            later = [e for e in mine if e["message"] != "Working on it…"]
            return str(later[-1]["message"]) if later else None

        found: str = await eventually(late, timeout=timeout, what=f"the answer to {text!r}")
        return found

    def dm_channel(self, username: str) -> str:
        return str(self.sim.direct_channel(self.uid(username), self.uid("idlbot"))["id"])

    def bot_posts(self, channel_id: str) -> list[dict[str, Any]]:
        return [p for p in self.sim.posts_in(channel_id) if p["user_id"] == self.uid("idlbot")]

    async def dm(self, username: str, text: str, timeout: float = 5.0) -> str:
        """DM the bot as `username`; return the bot's answer to that post."""
        post = await self.sim.user_post(self.uid(username), self.dm_channel(username), text)
        return await self.reply_to(post, self.dm_channel(username), timeout=timeout)

    async def reply_to(self, post: dict[str, Any], channel_id: str, timeout: float = 5.0) -> str:
        key = f"reply:{post['id']}"

        def found() -> str | None:
            for p in self.bot_posts(channel_id):
                if (p.get("props") or {}).get(KEY_PROP) == key:
                    return str(p["message"])
            return None

        result: str = await eventually(found, timeout=timeout, what=f"the reply to {post['message']!r}")
        return result


def slash_form(h: Harness, **changes: str) -> dict[str, str]:
    """The slash form as Mattermost sends it: alice's `/idl whoami` in town-square. Tests
    that post it straight to the bot change what they are about (the token, the text, or
    the user id a forger would send)."""
    form = {
        "channel_id": h.channel("town-square"),
        "channel_name": "town-square",
        "command": "/idl",
        "response_url": f"{h.sim.url}/hooks/commands/abcdefghijklmnopqrstuvwxyz",
        "root_id": "",
        "team_domain": "idl2018",
        "team_id": h.info["team_id"],
        "text": "whoami",
        "token": h.settings.secrets.slash_token or "",
        "trigger_id": "x",
        "user_id": h.uid("alice"),
        "user_name": "alice",
    }
    return {**form, **changes}


async def register(h: Harness, public_url: str, team: str | None = None) -> str:
    """Register /idl as `setup-mattermost` does, in the course's team (or `team`); its token."""
    return await register_in(
        h.sim.url, h.settings.secrets.mattermost_token or "", team or h.settings.mattermost.team, public_url
    )


async def register_in(url: str, bot_token: str, team: str, public_url: str = "http://127.0.0.1:9") -> str:
    chat = MattermostChat(url, bot_token, team=team)
    try:
        await chat.login()
        _, command = await setup_command(chat, public_url, build_registry())
    finally:
        await chat.close()
    return str(command["token"])


async def make_harness(
    db_url: str,
    *,
    tuning: Tuning = FAST,
    ping_interval: float = 30.0,
    sim_ping: float = 60.0,
    gitlab: bool = False,
    reconcile_minutes: float = 10.0,
) -> Harness:
    sim = MattermostSim(ping_interval=sim_ping)
    env = {"IDLBOT_MATTERMOST_TOKEN": "x" * 26, "IDLBOT_SLASH_TOKEN": "y" * 26}
    base = load(example_config_path(), env=env)
    info = seed(sim, base)
    url = await sim.start()
    env["IDLBOT_MATTERMOST_TOKEN"] = info["tokens"]["idlbot"]
    settings = with_endpoints(
        load(example_config_path(), env=env), mattermost_url=url, port=0, database_url=db_url
    )
    h = Harness(sim=sim, settings=settings, info=info, db_url=db_url, tuning=tuning)
    # the command token is issued by the server; the URL is fixed once the bot has a port
    env["IDLBOT_SLASH_TOKEN"] = await register(h, "http://127.0.0.1:9")
    settings = with_endpoints(
        load(example_config_path(), env=env), mattermost_url=url, port=0, database_url=db_url
    )
    h.settings = replace_ping(settings, ping_interval)
    if gitlab:
        await start_gitlab(h, reconcile_minutes)
    else:
        h.settings = replace(h.settings, gitlab=None)  # the example's GitLab is not reachable here
    return h


WEBHOOK_SECRET = "hook-secret-for-tests"


async def start_gitlab(h: Harness, reconcile_minutes: float) -> None:
    """The GitLab simulator on the bot's (shifted) clock, seeded like the demo's."""
    h.gitlab = GitLabSim(clock=ShiftedClock(DEMO_START).now)
    students = [n for n in h.info["users"] if n in STUDENTS]
    h.gitlab_world = seed_gitlab(h.gitlab, h.settings, students)
    url = await h.gitlab.start()
    assert h.settings.gitlab is not None
    h.settings = replace(
        h.settings,
        gitlab=replace(h.settings.gitlab, url=url, reconcile_minutes=reconcile_minutes),
        secrets=replace(
            h.settings.secrets, gitlab_token=h.gitlab_world["token"], gitlab_webhook_secret=WEBHOOK_SECRET
        ),
    )


def replace_ping(settings: Settings, ping_interval: float) -> Settings:
    return replace(settings, mattermost=replace(settings.mattermost, ping_interval=ping_interval))


@pytest.fixture
async def harness(db_url: str) -> AsyncIterator[Harness]:
    h = await make_harness(db_url)
    await h.start_bot()
    try:
        yield h
    finally:
        await h.close()
