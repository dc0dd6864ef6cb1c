"""`idlbot demo`: the bot on SQLite against the built-in Mattermost simulator.

Needs no arguments and no Mattermost. It seeds the example course's team, channels,
staff and a few synthetic students into the simulator, registers `/idl` exactly as
`setup-mattermost` would, and starts the real bot, which talks to the simulator over
real sockets. The demo clock is set into the example term (the course ran in 2018), so
`/idl deadlines` has something to show; it runs forward in real time from there.

`idlbot say --as alice "/idl deadlines"` (a second terminal) talks to a running demo
through the simulator's public API, like a user's client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from idlbot import logs
from idlbot.adapters.mattermost.rest import MattermostChat
from idlbot.adapters.mattermost.setup import setup_command
from idlbot.app import Bot
from idlbot.clock import ShiftedClock
from idlbot.commands import build_registry
from idlbot.config import Settings, example_config_path, load
from idlbot.devtools.demo_gitlab import register_hooks, seed_gitlab
from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.devtools.sim.mattermost import MattermostSim
from idlbot.domain.ledger import Student
from idlbot.storage.db import create_engine, sessionmaker, upgrade
from idlbot.storage.roster import SqlRoster

DEMO_START = datetime(2018, 10, 22, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
STUDENTS = {"alice": "Europe/Berlin", "bob": "America/New_York", "carol": "Asia/Kolkata"}
STATE_FILE = "demo.json"


def seed(sim: MattermostSim, settings: Settings) -> dict[str, Any]:
    """Team, channels and people of the example course; returns ids and tokens."""
    team = sim.add_team(settings.mattermost.team, "Introduction to Deep Learning")
    bot = sim.add_user("idlbot", is_bot=True, first_name="idlbot")
    tokens = {"idlbot": sim.issue_token(bot["id"])}
    users = {"idlbot": bot}
    staff = list(settings.roles.instructors) + [
        t for t in settings.roles.tutors if t not in settings.roles.instructors
    ]
    for name in staff:
        users[name] = sim.add_user(name, roles="system_user")
    for name, tz in STUDENTS.items():
        users[name] = sim.add_user(name, timezone=tz)
    channel_names = set(settings.mattermost.channels.values()) | {
        g.channel for g in settings.course.groups if g.channel
    }
    channels = {name: sim.add_channel(team["id"], name) for name in sorted(channel_names)}
    for user in users.values():
        # the bot registers /idl itself, which needs team admin (manage_slash_commands)
        sim.add_team_member(team["id"], user["id"], admin=user is bot)
        if user["username"] not in tokens:
            tokens[user["username"]] = sim.issue_token(user["id"])
        for channel in channels.values():
            sim.add_channel_member(channel["id"], user["id"])
    return {
        "team_id": team["id"],
        "channels": {name: c["id"] for name, c in channels.items()},
        "users": {name: u["id"] for name, u in users.items()},
        "tokens": tokens,
    }


def with_endpoints(settings: Settings, *, mattermost_url: str, port: int, database_url: str) -> Settings:
    """The example course, pointed at a local simulator, port and database."""
    return replace(
        settings,
        mattermost=replace(settings.mattermost, url=mattermost_url),
        server=replace(settings.server, host="127.0.0.1", port=port, public_url=f"http://127.0.0.1:{port}"),
        database=replace(settings.database, url=database_url),
    )


def demo_settings(
    data_dir: Path, mm_url: str, bot_port: int, env: dict[str, str], gitlab_url: str
) -> Settings:
    settings = with_endpoints(
        load(example_config_path(), env=env),
        mattermost_url=mm_url,
        port=bot_port,
        database_url=f"sqlite+aiosqlite:///{(data_dir / 'idlbot.db').resolve()}",
    )
    assert settings.gitlab is not None
    return replace(settings, gitlab=replace(settings.gitlab, url=gitlab_url, reconcile_minutes=1.0))


DEMO_ROSTER = (
    Student(mattermost="alice", gitlab="alice", cluster="alice", group_id="g1", team_id="lyrics-a"),
    Student(mattermost="bob", gitlab="bob", cluster="bob", group_id="g2", team_id="lyrics-b"),
    Student(mattermost="carol", gitlab="carol", cluster="carol", group_id="g3", team_id="lyrics-b"),
)


def seed_history(gitlab: GitLabSim) -> None:
    """What happened before the demo clock's Monday: a01 was due Tue 16 Oct 23:59."""
    berlin = ZoneInfo("Europe/Berlin")
    gitlab.push_tag(
        "idl2018/assignments/alice", "a01", user="alice", at=datetime(2018, 10, 16, 21, 5, tzinfo=berlin)
    )
    gitlab.push_tag(
        "idl2018/assignments/bob-carol", "a01", user="bob", at=datetime(2018, 10, 17, 8, 30, tzinfo=berlin)
    )
    gitlab.create_wiki_page(
        "stober/idl2018",
        "blog/alice/week-1",
        "What I learned about perceptrons.",
        user="alice",
        at=datetime(2018, 10, 19, 18, 0, tzinfo=berlin),
    )
    project = "stober/idl2018"
    asked = [
        ("Why does dropout help against overfitting?", "alice", ["bob", "carol"]),
        ("What exactly is a residual connection?", "bob", ["alice"]),
        ("Is batch norm applied before or after the activation?", "carol", []),
    ]
    for n, (title, author, voters) in enumerate(asked):
        issue = gitlab.add_issue(
            project,
            title,
            author=author,
            labels=["question"],
            at=datetime(2018, 10, 20, 10 + n, 0, tzinfo=berlin),
        )
        for voter in voters:
            gitlab.award(project, issue["iid"], "thumbsup", user=voter)


@dataclass
class Demo:
    mattermost: MattermostSim
    gitlab: GitLabSim
    bot: Bot
    info: dict[str, Any]

    async def stop(self) -> None:
        await self.bot.stop()
        await self.mattermost.stop()
        await self.gitlab.stop()


async def start_demo(
    data_dir: Path, *, bot_port: int = 8080, mm_port: int = 8065, gitlab_port: int = 0
) -> Demo:
    data_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at start-up
    sim = MattermostSim(ping_interval=30.0)
    env = {
        "IDLBOT_MATTERMOST_TOKEN": "pending",
        "IDLBOT_SLASH_TOKEN": "pending",
        "IDLBOT_GITLAB_WEBHOOK_SECRET": secrets.token_hex(16),
    }
    probe = load(example_config_path(), env=env)
    info = seed(sim, probe)
    mm_url = await sim.start(port=mm_port)
    gitlab = GitLabSim(clock=ShiftedClock(DEMO_START).now)
    world = seed_gitlab(gitlab, probe, list(STUDENTS))
    seed_history(gitlab)  # sent while no bot listened: the first reconciliation finds it
    gl_url = await gitlab.start(port=gitlab_port)
    env["IDLBOT_GITLAB_TOKEN"] = world["token"]
    env["IDLBOT_MATTERMOST_TOKEN"] = info["tokens"]["idlbot"]
    # the slash command's token is issued by the server when the command is registered
    settings = demo_settings(data_dir, mm_url, bot_port, env, gl_url)
    chat = MattermostChat(mm_url, env["IDLBOT_MATTERMOST_TOKEN"], team=settings.mattermost.team)
    try:
        await chat.login()
        _, command = await setup_command(chat, settings.server.public_url, build_registry())
    finally:
        await chat.close()
    env["IDLBOT_SLASH_TOKEN"] = str(command["token"])
    settings = demo_settings(data_dir, mm_url, bot_port, env, gl_url)
    await upgrade(settings.database.url)
    await _import_roster(settings)
    bot = Bot(settings, clock=ShiftedClock(DEMO_START))
    await bot.start()
    if bot.port != bot_port:  # port 0: the command must point at the port we really got
        settings = demo_settings(data_dir, mm_url, int(bot.port or 0), env, gl_url)
        chat = MattermostChat(mm_url, env["IDLBOT_MATTERMOST_TOKEN"], team=settings.mattermost.team)
        try:
            await chat.login()
            await setup_command(chat, settings.server.public_url, build_registry())
        finally:
            await chat.close()
    await asyncio.wait_for(bot.ready.wait(), timeout=30)
    secret = env["IDLBOT_GITLAB_WEBHOOK_SECRET"]
    register_hooks(gitlab, world, f"http://127.0.0.1:{bot.port}/gitlab/webhook", secret)
    info.update(
        {
            "gitlab_url": gl_url,
            "mattermost_url": mm_url,
            "bot_url": f"http://127.0.0.1:{bot.port}",
            "town_square": info["channels"].get(settings.mattermost.channels["town_square"]),
        }
    )
    (data_dir / STATE_FILE).write_text(json.dumps(info, indent=2))
    return Demo(sim, gitlab, bot, info)


async def _import_roster(settings: Settings) -> None:
    engine = create_engine(settings.database.url)
    try:
        roster = SqlRoster(sessionmaker(engine))
        for student in DEMO_ROSTER:
            await roster.upsert(student, now=ShiftedClock(DEMO_START).now())
    finally:
        await engine.dispose()


def banner(info: dict[str, Any], data_dir: Path) -> str:
    users = ", ".join(n for n in info["users"] if n != "idlbot")
    return "\n".join(
        [
            f"idlbot demo is running: bot {info['bot_url']}, Mattermost simulator {info['mattermost_url']}",
            f"The demo clock starts at {DEMO_START:%a %d %b %Y %H:%M %Z} (inside the 2018 example term).",
            f"Users: {users}.",
            "Try, in a second terminal:",
            '  idlbot say --as alice "/idl deadlines"',
            '  idlbot say --as bob "/idl help"          (bob lives in America/New_York)',
            '  idlbot say --as sstober "/idl health"    (an instructor)',
            '  idlbot say --as alice "/idl status"      (hand-ins from the simulated GitLab)',
            '  idlbot say --as jens "/idl overview"     (the course, by DM, with a chart)',
            '  idlbot say --as alice --dm "whoami"      (a DM to the bot)',
            f"  (state in {data_dir / STATE_FILE}, the bot log in {data_dir / 'idlbot.log'};"
            " use --data-dir if you started the demo elsewhere)",
            "Or type here: `/idl deadlines`, `bob: /idl help`, `alice dm: whoami`. Ctrl-C stops.",
        ]
    )


async def run_demo(
    *,
    data_dir: str = "idlbot-demo",
    bot_port: int = 8080,
    mm_port: int = 8065,
    interactive: bool | None = None,
) -> None:
    path = Path(data_dir)
    path.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at start-up
    # the terminal shows the chat; the bot's structured log goes to a file beside it
    logs.setup("INFO", stream=(path / "idlbot.log").open("a", encoding="utf-8"))
    demo = await start_demo(path, bot_port=bot_port, mm_port=mm_port)
    print(banner(demo.info, path), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    prompt: asyncio.Task[None] | None = None
    if interactive is None:
        interactive = sys.stdin.isatty()
    if interactive:
        prompt = asyncio.create_task(_prompt_loop(path, stop))
    try:
        await stop.wait()
    finally:
        if prompt is not None:
            prompt.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await prompt
        await demo.stop()


async def _prompt_loop(data_dir: Path, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            line = await loop.run_in_executor(None, input, "> ")
        except EOFError:
            stop.set()
            return
        user, dm, text = parse_prompt(line)
        if text:
            await say(user, text, data_dir=str(data_dir), dm=dm, wait=2.0)


def parse_prompt(line: str) -> tuple[str, bool, str]:
    """`bob: /idl help` → ("bob", False, "/idl help"); `alice dm: whoami` → ("alice", True, "whoami")."""
    head, sep, rest = line.partition(":")
    if sep and " " not in head.strip().removesuffix(" dm") and not head.strip().startswith("/"):
        who = head.strip()
        dm = who.endswith(" dm")
        return who.removesuffix(" dm").strip() or "alice", dm, rest.strip()
    return "alice", False, line.strip()


async def say(
    user: str, text: str, *, data_dir: str = "idlbot-demo", dm: bool = False, wait: float = 3.0
) -> int:
    """Act as a demo user: run a slash command or DM the bot, print what the user sees."""
    state_path = Path(data_dir) / STATE_FILE
    if not state_path.exists():
        print(
            f"no running demo found ({state_path} is missing); start one with `idlbot demo`", file=sys.stderr
        )
        return 1
    info = json.loads(state_path.read_text())
    token = info["tokens"].get(user)
    if token is None:
        print(f"unknown demo user {user!r}; users: {', '.join(info['tokens'])}", file=sys.stderr)
        return 1
    base = info["mattermost_url"] + "/api/v4"
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=40)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
        if dm:
            return await _say_dm(http, base, info, user, text, wait)
        command = text if text.startswith("/") else f"/idl {text}"
        dm_channel = await _dm_channel(http, base, info, user)
        started = int(time.time() * 1000)
        # slow commands answer later through response_url: an ephemeral post that only
        # the user's websocket sees, so listen like a client before asking
        ws_url = info["mattermost_url"].replace("http://", "ws://", 1) + "/api/v4/websocket"
        async with http.ws_connect(ws_url) as ws:
            await ws.send_json({"seq": 1, "action": "authentication_challenge", "data": {"token": token}})
            async with http.post(
                f"{base}/commands/execute", json={"channel_id": info["town_square"], "command": command}
            ) as resp:
                body = await resp.json(content_type=None)
            if str(body.get("text", "")).startswith("Working on it"):
                body = {**body, "text": await _late_answer(ws, wait) or body.get("text", "")}
        if resp.status != 200:
            print(f"Mattermost: {body.get('message', body)}")
            return 1
        print(f"[{user}] {command}")
        visibility = (
            "only visible to you" if body.get("response_type", "ephemeral") == "ephemeral" else "in channel"
        )
        print(f"idlbot ({visibility}):\n{body.get('text', '')}\n")
        if "your DM" in str(body.get("text", "")):
            await _print_dms(http, base, info, dm_channel, started, wait)
    return 0


async def _late_answer(ws: aiohttp.ClientWebSocketResponse, wait: float) -> str | None:
    """The first ephemeral post after "Working on it…", as the web client would show it."""
    deadline = time.monotonic() + max(wait, 5.0)
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await ws.receive(timeout=left)
        except TimeoutError:
            return None
        if msg.type != aiohttp.WSMsgType.TEXT:
            return None
        frame = json.loads(msg.data)
        if frame.get("event") == "ephemeral_message":
            message = str(json.loads(frame["data"]["post"]).get("message", ""))
            if not message.startswith("Working on it"):
                return message
    return None


async def _say_dm(
    http: aiohttp.ClientSession, base: str, info: dict[str, Any], user: str, text: str, wait: float
) -> int:
    channel = await _dm_channel(http, base, info, user)
    async with http.post(f"{base}/posts", json={"channel_id": channel, "message": text}) as resp:
        sent = await resp.json(content_type=None)
    print(f"[{user} → @idlbot] {text}")
    return 0 if await _print_dms(http, base, info, channel, int(sent["create_at"]), wait) else 1


async def _dm_channel(http: aiohttp.ClientSession, base: str, info: dict[str, Any], user: str) -> str:
    bot_id, user_id = info["users"]["idlbot"], info["users"][user]
    async with http.post(f"{base}/channels/direct", json=[user_id, bot_id]) as resp:
        channel = await resp.json(content_type=None)
    return str(channel["id"])


async def _print_dms(
    http: aiohttp.ClientSession, base: str, info: dict[str, Any], channel: str, since: int, wait: float
) -> bool:
    """Print the bot's posts in the DM channel created after `since` (waiting up to `wait` s)."""
    deadline = time.monotonic() + max(wait, 0.5)
    while time.monotonic() < deadline:
        async with http.get(f"{base}/channels/{channel}/posts", params={"since": str(since)}) as resp:
            page = await resp.json(content_type=None)
        replies = [
            p
            for p in page.get("posts", {}).values()
            if p["user_id"] == info["users"]["idlbot"] and p["create_at"] >= since
        ]
        if replies:
            for post in sorted(replies, key=lambda p: p["create_at"]):
                files = [
                    f"{f['name']} ({f['size']} bytes)" for f in post.get("metadata", {}).get("files", [])
                ]
                attached = f"\n[attached: {', '.join(files)}]" if files else ""
                print(f"idlbot (DM):\n{post['message']}{attached}\n")
            return True
        await asyncio.sleep(0.2)
    print("(no reply yet)")
    return False
