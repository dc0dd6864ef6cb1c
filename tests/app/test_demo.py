"""`idlbot demo` and `idlbot say`, as a user of the README runs them (real processes)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

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


@pytest.mark.timeout(90)
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
