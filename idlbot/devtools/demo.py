"""`idlbot demo`: the bot on SQLite against the built-in Mattermost simulator.

Needs no arguments and no Mattermost. It seeds the example course's team, channels,
staff and a few synthetic students into the simulator, registers `/idl` exactly as
`setup-mattermost` would, and starts the real bot, which talks to the simulator over
real sockets. The demo clock is set into the example term (the course ran in 2018), so
`/idl deadlines` has something to show; it runs forward in real time from there.

The data directory (default: per user, `demo_state.default_data_dir`) keeps the bot's
database and the simulators' state, so a second start on it resumes where the first
stopped. `--with-cluster` adds a local Slurm when one answers (`demo_cluster`); the
demo clock is then the real time, since Slurm's jobs and reservations are real.

`idlbot say --as alice "/idl deadlines"` (`demo_say`) talks to a running demo as a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import secrets
import signal
import socket
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from idlbot import logs
from idlbot.adapters.mattermost.rest import MattermostChat
from idlbot.adapters.mattermost.setup import setup_command
from idlbot.app import Bot
from idlbot.clock import ShiftedClock
from idlbot.commands import build_registry
from idlbot.config import Settings, example_config_path, load
from idlbot.devtools import demo_state
from idlbot.devtools.demo_cluster import find_cluster
from idlbot.devtools.demo_gitlab import register_hooks, seed_gitlab
from idlbot.devtools.demo_say import STATE_FILE, prompt_loop, say
from idlbot.devtools.demo_seed import (
    DEMO_ROSTER,
    DEMO_START,
    STUDENTS,
    import_roster,
    seed,
    seed_history,
    with_endpoints,
)  # fmt: skip
from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.devtools.sim.mattermost import MattermostSim
from idlbot.storage.db import upgrade

__all__ = [
    "DEMO_ROSTER", "DEMO_START", "STATE_FILE", "STUDENTS", "Demo", "run_demo", "say", "seed", "start_demo",
    "with_endpoints",
]  # fmt: skip

SAVE_EVERY_S = 5.0
JOB_POLL_S = 5.0


def demo_settings(
    data_dir: Path, mm_url: str, bot_port: int, env: dict[str, str], gitlab_url: str, cluster: str | None
) -> Settings:
    settings = with_endpoints(
        load(example_config_path(), env=env),
        mattermost_url=mm_url,
        port=bot_port,
        database_url=f"sqlite+aiosqlite:///{(data_dir / demo_state.DB_FILE).resolve()}",
    )
    assert settings.gitlab is not None
    settings = replace(settings, gitlab=replace(settings.gitlab, url=gitlab_url, reconcile_minutes=1.0))
    if cluster is None:
        return settings
    slurm = replace(settings.slurm, enabled=True, cluster=cluster, poll_seconds=JOB_POLL_S)
    return replace(settings, slurm=slurm)


def free_port() -> int:
    """A port nobody listens on, chosen before the bot starts: `public_url` (calendar links,
    announcement buttons, the slash command) must name the port the bot really has."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Demo:
    mattermost: MattermostSim
    gitlab: GitLabSim
    bot: Bot
    info: dict[str, Any]
    data_dir: Path
    saved: demo_state.Saved
    clock: ShiftedClock
    notes: list[str] = field(default_factory=list)  # what the banner must say about this start
    _saver: asyncio.Task[None] | None = None

    def save(self) -> None:
        self.saved.clock_at = self.clock.now()
        demo_state.save(self.data_dir, self.mattermost, self.gitlab, self.saved)

    async def _save_often(self) -> None:
        """A killed demo (no Ctrl-C) still resumes close to where it was."""
        while True:
            await asyncio.sleep(SAVE_EVERY_S)
            self.save()

    async def stop(self) -> None:
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
        await self.bot.stop()
        self.save()
        await self.mattermost.stop()
        await self.gitlab.stop()


def _restore(data_dir: Path, notes: list[str]) -> tuple[MattermostSim, GitLabSim, demo_state.Saved | None]:
    """The simulators as the last run left them, or new ones; never a database without them."""
    sim, gitlab = MattermostSim(ping_interval=30.0), GitLabSim()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    try:
        saved = demo_state.load(data_dir, sim, gitlab)
    except ValueError as err:
        moved = demo_state.start_clean(data_dir, stamp)
        kept = f"; the old database is kept as {data_dir / moved}" if moved else ""
        notes.append(f"Could not read the saved simulator state ({err}): started a new demo{kept}.")
        return MattermostSim(ping_interval=30.0), GitLabSim(), None
    if saved is None and (data_dir / demo_state.DB_FILE).exists():
        moved = demo_state.start_clean(data_dir, stamp)
        notes.append(
            f"Found a database without the simulators' state (an older demo): started a new demo; "
            f"the old database is kept as {data_dir / str(moved)}."
        )
    return sim, gitlab, saved


async def start_demo(
    data_dir: Path,
    *,
    bot_port: int = 8080,
    mm_port: int = 8065,
    gitlab_port: int = 0,
    with_cluster: bool = False,
) -> Demo:
    data_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at start-up
    notes: list[str] = []
    cluster: str | None = None
    if with_cluster:
        found = await find_cluster()
        cluster = found.cluster
        if cluster is None:
            notes.append(f"--with-cluster: {found.reason}; starting without the cluster.")
    sim, gitlab, saved = _restore(data_dir, notes)
    start_at = saved.clock_at if saved is not None else DEMO_START
    if cluster is not None:  # Slurm runs on the real time; the demo clock never runs backwards
        start_at = max(start_at, datetime.now(UTC))
    clock = ShiftedClock(start_at)
    gitlab.clock = clock.now
    if saved is None:
        env = {"IDLBOT_MATTERMOST_TOKEN": "pending", "IDLBOT_SLASH_TOKEN": "pending"}
        probe = load(example_config_path(), env=env)
        info = seed(sim, probe)
        world = seed_gitlab(gitlab, probe, list(STUDENTS))
        seed_history(gitlab)  # sent while no bot listened: the first reconciliation finds it
        saved = demo_state.Saved(info, world, secrets.token_hex(16), secrets.token_hex(16), start_at)
        notes.insert(0, f"New demo in {data_dir}.")
    else:
        notes.insert(
            0,
            f"Resumed the demo in {data_dir}: its Mattermost and GitLab as they were at the last stop; "
            "the demo clock continues from there.",
        )
    info, world = saved.info, saved.world
    env = {
        "IDLBOT_MATTERMOST_TOKEN": info["tokens"]["idlbot"],
        "IDLBOT_SLASH_TOKEN": "pending",
        "IDLBOT_GITLAB_TOKEN": world["token"],
        "IDLBOT_GITLAB_WEBHOOK_SECRET": saved.webhook_secret,
        "IDLBOT_SLURM_SECRET": saved.slurm_secret,
    }
    if bot_port == 0:
        bot_port = free_port()
    mm_url = await sim.start(port=mm_port)
    gl_url = await gitlab.start(port=gitlab_port)
    settings = demo_settings(data_dir, mm_url, bot_port, env, gl_url, cluster)
    chat = MattermostChat(mm_url, env["IDLBOT_MATTERMOST_TOKEN"], team=settings.mattermost.team)
    try:
        # the slash command's token is issued by the server when the command is registered
        await chat.login()
        _, command = await setup_command(chat, settings.server.public_url, build_registry())
    finally:
        await chat.close()
    env["IDLBOT_SLASH_TOKEN"] = str(command["token"])
    settings = demo_settings(data_dir, mm_url, bot_port, env, gl_url, cluster)
    await upgrade(settings.database.url)
    await demo_state.repair_dm_channels(settings.database.url, sim, info)
    await import_roster(settings, clock, cluster_user=getpass.getuser() if cluster else None)
    if cluster is not None:
        secret_file = data_dir / "slurm-secret"
        secret_file.write_text(saved.slurm_secret + "\n")
        os.chmod(secret_file, 0o600)
    bot = Bot(settings, clock=clock)
    await bot.start()
    await asyncio.wait_for(bot.ready.wait(), timeout=30)
    bot_url = settings.server.public_url
    register_hooks(gitlab, world, f"{bot_url}/gitlab/webhook", saved.webhook_secret)
    info.update(
        {
            "gitlab_url": gl_url,
            "mattermost_url": mm_url,
            "bot_url": bot_url,
            "town_square": info["channels"].get(settings.mattermost.channels["town_square"]),
            "cluster": cluster,
        }
    )
    (data_dir / STATE_FILE).write_text(json.dumps(info, indent=2))
    demo = Demo(sim, gitlab, bot, info, data_dir, saved, clock, notes)
    demo.save()
    demo._saver = asyncio.create_task(demo._save_often())
    return demo


def banner(demo: Demo, *, prompt: bool) -> str:
    info, data_dir = demo.info, demo.data_dir
    users = ", ".join(n for n in info["users"] if n != "idlbot")
    d = "" if data_dir.resolve() == demo_state.default_data_dir().resolve() else f" --data-dir {data_dir}"
    lines = [
        f"idlbot demo is running: bot {info['bot_url']}, Mattermost simulator {info['mattermost_url']}",
        *demo.notes,
        f"The demo clock: {demo.clock.now().astimezone(DEMO_START.tzinfo):%a %d %b %Y %H:%M %Z}"
        + (
            " (the real time: Slurm's jobs are real)."
            if info.get("cluster")
            else " (inside the 2018 example term)."
        ),
        f"Users: {users}.",
        "Try, in a second terminal:",
        f'  idlbot say{d} --as alice "/idl deadlines"',
        f'  idlbot say{d} --as bob "/idl help"          (bob lives in America/New_York)',
        f'  idlbot say{d} --as sstober "/idl health"    (an instructor)',
        f'  idlbot say{d} --as alice "/idl status"      (hand-ins from the simulated GitLab)',
        f'  idlbot say{d} --as jens "/idl overview"     (the course, by DM, with a chart: saved in'
        f" {data_dir / 'files'})",
        f'  idlbot say{d} --as alice --dm "whoami"      (a DM to the bot)',
    ]
    if info.get("cluster"):
        lines += [
            f"Cluster {info['cluster']}: alice's cluster account is {getpass.getuser()} (you here).",
            f'  idlbot say{d} --as alice "/idl notify jobs all"   then   sbatch --wrap "sleep 2"',
            f'  idlbot say{d} --as alice "/idl jobs"      (a DM per job {JOB_POLL_S:.0f} s after it ends)',
            f'  idlbot say{d} --as sstober "/idl maintenance add tomorrow 04:00 06:00 disk swap"',
            f"  (MailProg: bot_url {info['bot_url']}/slurm/event, secret_file {data_dir / 'slurm-secret'})",
        ]
    lines += [
        f"Data, the bot log and the simulators' state are in {data_dir}; a restart resumes them.",
        "Or type here: `/idl deadlines`, `bob: /idl help`, `alice dm: whoami`. Ctrl-C stops."
        if prompt
        else "Ctrl-C (SIGINT) stops.",
    ]
    return "\n".join(lines)


async def run_demo(
    *,
    data_dir: str | Path | None = None,
    bot_port: int = 8080,
    mm_port: int = 8065,
    interactive: bool | None = None,
    with_cluster: bool = False,
) -> None:
    path = Path(data_dir) if data_dir is not None else demo_state.default_data_dir()
    path.mkdir(parents=True, exist_ok=True)
    # the terminal shows the chat; the bot's structured log goes to a file beside it
    logs.setup("INFO", stream=(path / "idlbot.log").open("a", encoding="utf-8"))
    if interactive is None:
        interactive = sys.stdin.isatty()
    demo = await start_demo(path, bot_port=bot_port, mm_port=mm_port, with_cluster=with_cluster)
    print(banner(demo, prompt=interactive), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    prompt: asyncio.Task[None] | None = None
    if interactive:
        prompt = asyncio.create_task(prompt_loop(path, stop))
    try:
        await stop.wait()
    finally:
        if prompt is not None:
            prompt.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await prompt
        await demo.stop()
