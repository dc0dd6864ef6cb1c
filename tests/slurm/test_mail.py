"""idlbot-slurm-mail: spooling, signing, flushing; and the real slurmctld calling it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from idlbot.adapters.slurm import mailprog as slurm_mail

from .conftest import Cluster, sbatch

SECRET = "test-secret-for-hmac"


@dataclass
class Receiver:
    """A stand-in for the bot's /slurm/event: checks the HMAC the way the bot must."""

    url: str = ""
    status: int = 204
    events: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Idlbot-Signature", ""), expected):
            return web.Response(status=401)
        assert slurm_mail.verify(SECRET.encode(), body, request.headers)
        event = json.loads(body)
        assert str(event["sent_at"]) == request.headers["X-Idlbot-Timestamp"]
        if self.status < 300:
            self.events.append(event)
            self.arrived.set()
        return web.Response(status=self.status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/slurm/event", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rec.url = f"http://127.0.0.1:{port}/slurm/event"
    yield rec
    await runner.cleanup()


def write_config(path: Path, spool: Path, url: str) -> None:
    secret = path.parent / "secret"
    secret.write_text(SECRET + "\n")
    path.write_text(f'spool_dir = "{spool}"\nbot_url = "{url}"\nsecret_file = "{secret}"\ntimeout = 2\n')


async def mailprog(config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, float]:
    """Run the program like slurmctld does: argv `-s SUBJECT USER`, only SLURM_* in the env."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "idlbot.adapters.slurm.mailprog", *args,
        env={"IDLBOT_SLURM_MAIL_CONFIG": str(config), **(env or {})},
    )  # fmt: skip
    return await asyncio.wait_for(proc.wait(), 10), time.monotonic() - started


SLURM_ENV = {"SLURM_JOB_ID": "42", "SLURM_JOB_STATE": "FAILED", "SLURM_JOB_MAIL_TYPE": "Failed",
             "SLURM_CLUSTER_NAME": "idl-gpu", "SLURM_JOB_EXIT_CODE2": "3:0"}  # fmt: skip


async def wait_empty(spool: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while await asyncio.to_thread(lambda: list(spool.glob("*.json"))):
        assert time.monotonic() < deadline, "spool not emptied"
        await asyncio.sleep(0.1)


async def test_spools_signs_posts_and_removes(receiver: Receiver, tmp_path: Path) -> None:
    config, spool = tmp_path / "mail.toml", tmp_path / "spool"
    write_config(config, spool, receiver.url)
    subject = "Slurm Job_id=42 Name=f3 Failed, Run time 00:00:00, FAILED, ExitCode 3"
    rc, took = await mailprog(config, "-s", subject, "alice", env=SLURM_ENV)
    assert rc == 0 and took < 2  # the parent returns at once; the detached child posts
    await asyncio.wait_for(receiver.arrived.wait(), 10)
    (event,) = receiver.events
    assert (event["subject"], event["recipient"], event["job_id"], event["state"]) == (
        subject, "alice", "42", "FAILED",
    )  # fmt: skip
    assert event["env"]["SLURM_JOB_EXIT_CODE2"] == "3:0" and event["cluster"] == "idl-gpu"
    await wait_empty(spool)


async def test_bot_down_keeps_the_file_and_flush_sends_it(receiver: Receiver, tmp_path: Path) -> None:
    config, spool = tmp_path / "mail.toml", tmp_path / "spool"
    write_config(config, spool, "http://127.0.0.1:9/slurm/event")  # nothing listens on port 9
    rc, _ = await mailprog(config, "--foreground", "-s", "Slurm Job_id=42 Ended", "alice", env=SLURM_ENV)
    assert rc == 0
    (kept,) = spool.glob("*.json")
    assert json.loads(kept.read_text())["job_id"] == "42"
    assert not list(spool.glob(".*.tmp"))  # written by rename, nothing half-written left

    receiver.status = 500  # the bot answers but fails: still kept
    write_config(config, spool, receiver.url)
    loaded = slurm_mail.load_config({"IDLBOT_SLURM_MAIL_CONFIG": str(config)})
    assert await asyncio.to_thread(slurm_mail.flush, loaded) == (0, 1)  # blocking: off the loop

    receiver.status = 204
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "idlbot.adapters.slurm.mailprog",
        "--flush",
        env={"IDLBOT_SLURM_MAIL_CONFIG": str(config)},
    )
    assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert len(receiver.events) == 1 and not list(spool.glob("*.json"))


async def test_unwritable_spool_still_exits_0(tmp_path: Path) -> None:
    config = tmp_path / "mail.toml"
    (tmp_path / "file").write_text("")
    write_config(config, tmp_path / "file" / "spool", "http://127.0.0.1:9/")
    rc, took = await mailprog(config, "-s", "x", "root")
    assert rc == 0 and took < 2


def test_verify_rejects_tampering_and_old_timestamps() -> None:
    secret = SECRET.encode()
    body = json.dumps({"sent_at": 1000, "job_id": "1"}).encode()
    headers = {"X-Idlbot-Signature": slurm_mail.sign(secret, body), "X-Idlbot-Timestamp": "1000"}
    assert slurm_mail.verify(secret, body, headers, now=1100)
    assert not slurm_mail.verify(secret, body, headers, now=1000 + 301)  # replayed later
    assert not slurm_mail.verify(secret, body.replace(b'"1"', b'"2"'), headers, now=1000)
    assert not slurm_mail.verify(secret, body, {**headers, "X-Idlbot-Timestamp": "1001"}, now=1000)
    assert not slurm_mail.verify(b"other", body, headers, now=1000)


@pytest.mark.timeout(90)
async def test_slurmctld_runs_mailprog_on_job_end(
    slurm_up: Cluster, receiver: Receiver, workdir: Path
) -> None:
    """End to end: slurmctld runs the program for a failing job, which posts. In 22.05 a FAILED
    job with only --mail-type=END sends no mail at all (seen here): FAIL is needed for that."""
    spool = slurm_up.mail_dir / "spool"
    write_config(slurm_up.mail_config, spool, receiver.url)
    os.chmod(slurm_up.mail_config.parent / "secret", 0o600)
    job_id = await sbatch(
        slurm_up, workdir, "-J", "mailme", "--mail-type=END,FAIL", "--mail-user=root", "--wrap", "exit 3"
    )
    await asyncio.wait_for(receiver.arrived.wait(), 60)
    (event,) = [e for e in receiver.events if e["job_id"] == str(job_id)]
    assert (event["mail_type"], event["state"], event["recipient"]) == ("Failed", "FAILED", "root")
    assert event["env"]["SLURM_JOB_EXIT_CODE2"] == "3:0"
    assert f"Job_id={job_id}" in event["subject"]
    assert event["cluster"] == slurm_up.name


def run_by_hand(
    config: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the program as an operator would, from a shell: no SLURM_* in the environment."""
    return subprocess.run(
        [sys.executable, "-m", "idlbot.adapters.slurm.mailprog", *args],
        env={"IDLBOT_SLURM_MAIL_CONFIG": str(config), **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_help_prints_the_usage_and_spools_nothing(tmp_path: Path) -> None:
    """It printed nothing, exited 0 and spooled an empty event."""
    config, spool = tmp_path / "mail.toml", tmp_path / "spool"
    write_config(config, spool, "http://127.0.0.1:9/slurm/event")
    result = run_by_hand(config, "--help")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: idlbot-slurm-mail -s SUBJECT USER")
    assert "--flush" in result.stdout
    assert not spool.exists() or not list(spool.iterdir())


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((), "expected -s SUBJECT USER"),
        (("--fluhs",), "unknown option '--fluhs'"),
        (("-s",), "expected -s SUBJECT USER"),
        (("-s", "Slurm Job_id=42 Ended"), "expected -s SUBJECT USER"),
        (("-s", "x", "alice", "bob"), "expected -s SUBJECT USER"),
        (("--flush", "now"), "--flush takes no arguments"),
    ],
)
def test_a_bad_invocation_by_hand_is_one_line_and_spools_nothing(
    tmp_path: Path, args: tuple[str, ...], named: str
) -> None:
    config, spool = tmp_path / "mail.toml", tmp_path / "spool"
    write_config(config, spool, "http://127.0.0.1:9/slurm/event")
    result = (
        run_by_hand(config, "--foreground", *args) if args[:1] != ("--flush",) else run_by_hand(config, *args)
    )
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and named in result.stderr, result.stderr
    assert not spool.exists() or not list(spool.iterdir())


def test_under_slurmctld_an_odd_argv_is_still_spooled_and_exits_0(tmp_path: Path) -> None:
    """Slurm's environment marks a real call: an event with a strange argv beats a lost one."""
    config, spool = tmp_path / "mail.toml", tmp_path / "spool"
    write_config(config, spool, "http://127.0.0.1:9/slurm/event")
    result = run_by_hand(config, "--foreground", "--help", env=SLURM_ENV)
    assert result.returncode == 0
    (kept,) = spool.glob("*.json")
    assert json.loads(kept.read_text())["job_id"] == "42"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("nope = 1\n", "unknown keys ['nope']"),
        ('secret_file = "/nonexistent/secret"\n', "secret_file: cannot read /nonexistent/secret"),
        ('timeout = "soon"\n', "timeout: must be a number of seconds"),
        ("timeout = = 2\n", "invalid TOML"),
    ],
)
def test_flush_with_a_bad_config_is_one_line(tmp_path: Path, text: str, named: str) -> None:
    config = tmp_path / "mail.toml"
    config.write_text(text)
    result = run_by_hand(config, "--flush")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and named in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
