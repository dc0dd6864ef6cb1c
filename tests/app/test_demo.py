"""`idlbot demo` and `idlbot say`, as a user of the README runs them (real processes)."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import re
import signal
import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from idlbot.devtools.demo import DEMO_START
from idlbot.storage.db import create_engine
from idlbot.storage.dm_channels import SqlDmChannels
from idlbot.storage.outbox import SqlOutbox
from tests.app.conftest import eventually


async def cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "idlbot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return int(proc.returncode or 0), out.decode(), err.decode()


@pytest.mark.timeout(180)  # about 45 s alone; two busy cores shared by several test runs
async def test_demo_runs_and_answers_say(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    demo = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "idlbot",
        "demo",
        "--no-prompt",
        "--port",
        "0",
        "--mattermost-port",
        "0",
        "--data-dir",
        str(data),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ},
    )
    try:
        assert demo.stdout is not None
        banner = await asyncio.wait_for(demo.stdout.readline(), 60)
        assert banner.startswith(b"idlbot demo is running"), banner
        await eventually(lambda: (data / "demo.json").exists(), what="demo state")
        code, out, err = await cli("say", "--as", "alice", "--data-dir", str(data), "/idl deadlines")
        assert code == 0, err
        assert "idlbot (only visible to you):" in out and "Times are in Europe/Berlin." in out
        assert "Tue 23 Oct 2018, 12:00 CEST" in out  # the demo clock is inside the 2018 term
        code, out, err = await cli("say", "--as", "bob", "--data-dir", str(data), "/idl deadlines 1")
        assert "America/New_York" in out
        code, out, err = await cli("say", "--as", "alice", "--dm", "--data-dir", str(data), "whoami")
        assert code == 0, err
        assert "idlbot (DM):\nYou are @alice, a student." in out

        # the hand-ins seeded in the simulated GitLab arrive through the first reconciliation
        async def alice_status() -> bool:
            _, out, _ = await cli("say", "--as", "alice", "--data-dir", str(data), "/idl status")
            return "a01: on time" in out

        await eventually(alice_status, timeout=30, what="alice's a01 from the simulated GitLab")
        code, out, err = await cli("say", "--as", "jens", "--data-dir", str(data), "/idl overview")
        assert code == 0, err
        assert "idlbot (DM):" in out and "[attached: overview.png (" in out
        code, out, err = await cli("say", "--as", "bob", "--data-dir", str(data), "/idl agenda")
        assert code == 0, err
        assert out.index("dropout") < out.index("residual")  # ranked by upvotes, answered late
        code, out, err = await cli("say", "--as", "nobody", "--data-dir", str(data), "help")
        assert code == 1 and "unknown demo user" in err
    finally:
        demo.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(demo.wait(), 30) == 0


# ---- issue 12: the demo ---------------------------------------------------------------


class DemoProcess:
    """`idlbot demo --no-prompt` as a subprocess; its banner read up to the last line."""

    def __init__(self, proc: asyncio.subprocess.Process, banner: str, data: Path) -> None:
        self.proc, self.banner, self.data = proc, banner, data

    @property
    def info(self) -> dict[str, Any]:
        return dict(json.loads((self.data / "demo.json").read_text()))

    async def say(self, user: str, text: str, *extra: str) -> tuple[int, str, str]:
        return await cli("say", "--as", user, "--data-dir", str(self.data), *extra, text)

    async def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(self.proc.wait(), 30) == 0


async def start_demo(
    data: Path | None, *extra: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> DemoProcess:
    where = ["--data-dir", str(data)] if data is not None else []
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "idlbot", "demo", "--no-prompt", "--port", "0", "--mattermost-port", "0",
        *where, *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env or {**os.environ},
        cwd=cwd,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        while not lines or "stops." not in lines[-1]:
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, "the demo ended before its banner:\n" + "".join(lines)
            lines.append(line.decode())
    except BaseException:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        raise
    assert data is None or (data / "demo.json").exists()
    return DemoProcess(proc, "".join(lines), data or Path())


async def api(info: dict[str, Any], user: str, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {info['tokens'][user]}"}
    url = info["mattermost_url"] + "/api/v4" + path
    async with aiohttp.ClientSession(headers=headers) as http, http.request(method, url, json=body) as resp:
        return await resp.json(content_type=None)


@pytest.mark.timeout(120)
async def test_port_0_puts_the_bound_port_into_every_url(tmp_path: Path) -> None:
    demo = await start_demo(tmp_path / "demo")
    try:
        bot_url = demo.info["bot_url"]
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*", bot_url), bot_url
        assert f"bot {bot_url}," in demo.banner
        assert demo.banner.endswith("\nCtrl-C (SIGINT) stops.\n")  # --no-prompt: no "type here"
        code, out, err = await demo.say("alice", "/idl calendar")
        assert code == 0, err
        assert f"{bot_url}/calendar/" in out and ":0/" not in out, out
        preview = await api(
            demo.info, "sstober", "POST", "/commands/execute",
            {"channel_id": demo.info["town_square"], "command": "/idl announce hello all"},
        )  # fmt: skip
        urls = {a["integration"]["url"] for att in preview["props"]["attachments"] for a in att["actions"]}
        assert urls == {f"{bot_url}/mattermost/action"}, urls
        commands = await api(demo.info, "idlbot", "GET", f"/commands?team_id={demo.info['team_id']}")
        (command,) = [c for c in commands if c["trigger"] == "idl"]
        assert command["url"] == f"{bot_url}/mattermost/command"
    finally:
        await demo.stop()


@pytest.mark.timeout(120)
async def test_say_saves_the_files_the_bot_sends_and_prints_their_paths(tmp_path: Path) -> None:
    demo = await start_demo(tmp_path / "demo")
    try:
        code, out, err = await demo.say("jens", "/idl overview")
        assert code == 0, err
        (png,) = re.findall(r"\[saved: (.+\.png)\]", out)
        assert Path(png).parent == (tmp_path / "demo" / "files").resolve()
        assert read(png).startswith(b"\x89PNG\r\n\x1a\n")
        code, out, err = await demo.say("sstober", "/idl export", "--files-dir", str(tmp_path / "out"))
        assert code == 0, err
        (csv,) = re.findall(r"\[saved: (.+\.csv)\]", out)
        assert Path(csv).parent == (tmp_path / "out").resolve()
        assert b"alice" in read(csv)
    finally:
        await demo.stop()


async def test_say_without_any_demo_is_one_line(tmp_path: Path) -> None:
    code, out, err = await cli("say", "--data-dir", str(tmp_path / "none"), "/idl help")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "start one with `idlbot demo --data-dir" in err, err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "demo.json").write_text("{not json")
    code, out, err = await cli("say", "--data-dir", str(tmp_path / "bad"), "/idl help")
    assert code == 1 and err.count("\n") == 1 and "is not a demo's state" in err, err


async def test_say_after_the_demo_stopped_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """A demo that stopped (or was killed) left its state behind: nobody listens there now."""
    stopped = tmp_path / "stopped"
    stopped.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    state = {"mattermost_url": f"http://127.0.0.1:{dead}", "tokens": {"alice": "x"},
             "users": {"alice": "a" * 26, "idlbot": "b" * 26}, "town_square": "c" * 26}  # fmt: skip
    (stopped / "demo.json").write_text(json.dumps(state))
    for args in (("/idl help",), ("--dm", "whoami")):
        code, _, err = await cli("say", "--data-dir", str(stopped), *args)
        assert code == 1 and "Traceback" not in err, err
        assert err.count("\n") == 1 and "no demo is running" in err, err
        assert f"start it with `idlbot demo --data-dir {stopped}`" in err, err


def read(path: str) -> bytes:
    return Path(path).read_bytes()


def outbox_states(data: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(data / "idlbot.db")) as db:
        return dict(db.execute("SELECT key, state FROM outbox").fetchall())


@pytest.mark.timeout(180)
async def test_a_restart_on_the_same_dir_resumes_and_fails_no_pending_post(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    demo = await start_demo(data)
    first_banner = demo.banner
    try:
        code, out, err = await demo.say("sstober", '/idl remind add in 2h town-square "bring a laptop"')
        assert code == 0 and "bring a laptop" in out, out + err
    finally:
        await demo.stop()
    info = demo.info
    # posts the bot had not sent yet when it stopped (as after a crash or Ctrl-C)
    engine = create_engine(f"sqlite+aiosqlite:///{data / 'idlbot.db'}")
    try:
        outbox = SqlOutbox(engine)
        await outbox.enqueue(
            key="left:channel", message="left in the outbox", now=DEMO_START, channel_id=info["town_square"]
        )
        await outbox.enqueue(key="left:dm", message="a DM left behind", now=DEMO_START,
                             dm_user_id=info["users"]["alice"])  # fmt: skip
        # and a DM channel learnt after the last save of the simulators (a kill, not Ctrl-C)
        await SqlDmChannels(engine).remember(info["users"]["idlbot"], info["users"]["alice"], "z" * 26)
    finally:
        await engine.dispose()

    demo = await start_demo(data)
    try:
        await eventually(
            lambda: {outbox_states(data)[k] for k in ("left:channel", "left:dm")} == {"sent"},
            timeout=30, what="the posts left in the outbox sent",
        )  # fmt: skip
        assert "failed" not in outbox_states(data).values()
        assert "New demo in" in first_banner, first_banner
        assert "Resumed the demo in" in demo.banner and "New demo" not in demo.banner, demo.banner
        assert demo.info["tokens"] == info["tokens"]
        code, out, err = await demo.say("sstober", "/idl remind list")
        assert "#1 to ~town-square" in out, out + err
        code, out, err = await demo.say("sstober", "/idl health")
        assert "Last delivery errors: none" in out, out
        posts = await api(demo.info, "alice", "GET", f"/channels/{demo.info['town_square']}/posts")
        assert "left in the outbox" in {p["message"] for p in posts["posts"].values()}
    finally:
        await demo.stop()


@pytest.mark.timeout(120)
async def test_the_default_data_dir_is_per_user_and_say_finds_it(tmp_path: Path) -> None:
    checkout, state = tmp_path / "checkout", tmp_path / "state"
    checkout.mkdir()
    env = {**os.environ, "XDG_STATE_HOME": str(state)}
    demo = await start_demo(None, env=env, cwd=checkout)
    try:
        assert list(checkout.iterdir()) == []  # nothing written into the checkout
        assert (state / "idlbot" / "demo" / "demo.json").exists()
        say = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "idlbot", "say", "--as", "alice", "/idl whoami",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=tmp_path,
        )  # fmt: skip
        out, err = await asyncio.wait_for(say.communicate(), 60)
        assert say.returncode == 0 and b"You are @alice" in out, out + err
    finally:
        await demo.stop()


@pytest.mark.timeout(120)
async def test_with_cluster_without_slurm_says_why_in_one_line_and_runs(tmp_path: Path) -> None:
    no_slurm = {**os.environ, "PATH": os.path.dirname(sys.executable)}
    demo = await start_demo(tmp_path / "demo", "--with-cluster", env=no_slurm)
    try:
        (line,) = [x for x in demo.banner.splitlines() if "--with-cluster" in x]
        assert line == (
            "--with-cluster: sinfo not found (Slurm is not installed here): install it and run "
            "sudo scripts/slurm/up.sh; starting without the cluster."
        )
        assert "Cluster " not in demo.banner and "Traceback" not in demo.banner
        code, out, err = await demo.say("alice", "/idl jobs")
        assert code == 0 and "Tue 23 Oct 2018" not in out, out + err  # answered, no cluster
    finally:
        await demo.stop()


@pytest.mark.cluster
@pytest.mark.timeout(180)
# the demo uses the system's Slurm (Debian's 22.05): the parameter id puts this test in that
# cluster's xdist group (tests/conftest.py), in turn with its maintenance tests, never beside one
# that reserves every node (in CI the job then waited past the 60 s below)
@pytest.mark.parametrize("version", ["22.05"], ids=["slurm22.05"])
async def test_with_cluster_jobs_job_end_dms_and_maintenance_work(tmp_path: Path, version: str) -> None:
    from idlbot.devtools.demo_cluster import find_cluster

    found = await find_cluster()
    if found.cluster is None:
        pytest.skip(found.reason)
    demo = await start_demo(tmp_path / "demo", "--with-cluster")
    try:
        assert f"Cluster {found.cluster}: alice's cluster account is {getpass.getuser()}" in demo.banner
        _, out, err = await demo.say("alice", "/idl notify jobs all")
        assert "every job of yours" in out, out + err
        done = await asyncio.create_subprocess_exec(
            "sbatch", "--parsable", "-J", "demo-test", "--wrap", "true",
            stdout=asyncio.subprocess.PIPE, cwd=tmp_path,
        )  # fmt: skip
        job_id = (await done.communicate())[0].decode().strip().split(";")[0]
        key = f"job:{found.cluster}:{job_id}:"
        await eventually(
            lambda: any(k.startswith(key) and s == "sent" for k, s in outbox_states(demo.data).items()),
            timeout=60, what=f"the job-end DM for job {job_id}",
        )  # fmt: skip
        _, out, err = await demo.say("alice", "/idl jobs")
        assert f"**{job_id}** “demo-test”" in out, out + err
        _, out, err = await demo.say("sstober", "/idl maintenance add tomorrow 04:00 06:00 disk swap")
        (name,) = re.findall(r"Maintenance “(maint\\_\d+\\_\d+)” reserved", out) or [out + err]
        _, out, err = await demo.say("sstober", f"/idl maintenance cancel {name.replace(chr(92), '')}")
        assert "is cancelled" in out, out + err
    finally:
        await demo.stop()
