"""A second `idlbot run` on the same SQLite file is refused with one line (exit 1, no
traceback) while the first keeps running; the lock is the operating system's, so the
first one's death frees it (no stale lock)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.app.test_cli import ENV, run_cli
from tests.support.configfile import free_port, write_config


def _run_bot(config: Path) -> subprocess.Popen[bytes]:
    """A real `idlbot run` in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "idlbot", "run", "--config", str(config)],
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for_lock(lock: Path, pid: int, first: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll the real process's state: the lock file names it once it holds the lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert first.poll() is None, f"the first idlbot run exited {first.returncode}"
        if lock.exists() and lock.read_text().strip() == str(pid):
            return
        time.sleep(0.05)
    raise AssertionError(f"{lock} never named pid {pid}")


def test_a_second_run_on_one_sqlite_file_is_refused_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    config = write_config(
        tmp_path / "c.toml",
        mattermost_url="http://127.0.0.1:9",  # nobody there: the first keeps retrying its login
        database_url=f"sqlite+aiosqlite:///{db}",
        port=free_port(),
    )
    assert run_cli("migrate", "--config", str(config)).returncode == 0
    first = _run_bot(config)
    try:
        _wait_for_lock(tmp_path / "bot.db.lock", first.pid, first)
        second = run_cli("run", "--config", str(config))
        assert second.returncode == 1
        assert second.stderr == (
            f"idlbot run: another idlbot run is using {db} (pid {first.pid}); "
            "SQLite serves one process — use PostgreSQL for several replicas\n"
        )
        assert first.poll() is None  # the first one is untouched
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(20)
    # killed without a chance to clean up: the lock went with the process
    again = _run_bot(config)
    try:
        _wait_for_lock(tmp_path / "bot.db.lock", again.pid, again)
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(20)
