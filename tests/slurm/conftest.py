"""A real single-node Slurm cluster for the tests in this folder.

The session fixture runs scripts/slurm/up.sh (a no-op taking 0.1 s when CI already ran it) and
skips, with the reason visible in the summary, when that cannot work here: not root, no apt-get
and no Slurm, or no MariaDB. The cluster's MailProg is pointed at a small wrapper that runs
`python -m idlbot.slurm_mail` with a test config, because slurmctld gives MailProg an empty
environment: the config file is the only way in. Jobs run as root (Slurm allows it).

The 200-task array is marked `slurm_large` and deselected unless IDLBOT_SLURM_LARGE=1: it takes
about 70 s on two cores. Deselected, not skipped, so CI (where skips fail) stays green.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from idlbot.adapters.slurm import SlurmCluster
from idlbot.domain.jobs import JobRecord
from idlbot.domain.settings import SlurmSettings

REPO = Path(__file__).resolve().parents[2]
UP = REPO / "scripts" / "slurm" / "up.sh"
SLURM_CONF = "/etc/slurm/slurm.conf"
CLUSTER = "idl-gpu"
MAIL_DIR = Path("/run/slurm/idlbot-test-mail")  # stable paths: a second session hits up.sh's fast path
MAIL_CONFIG = MAIL_DIR / "slurm-mail.toml"
MAILPROG = Path("/run/slurm/idlbot-test-mailprog")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slurm_large: slow Slurm test, run with IDLBOT_SLURM_LARGE=1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("IDLBOT_SLURM_LARGE") == "1":
        return
    large = [item for item in items if item.get_closest_marker("slurm_large")]
    if large:
        config.hook.pytest_deselected(items=large)
        items[:] = [item for item in items if item not in large]


@dataclass(frozen=True)
class Cluster:
    conf: str
    mail_dir: Path
    mail_config: Path


@pytest.fixture(scope="session")
def slurm_up() -> Iterator[Cluster]:
    """Bring the cluster up once per session (idempotent), or skip with the reason."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("the Slurm tests need root on Linux (up.sh installs packages and starts daemons)")
    if shutil.which("sbatch") is None and shutil.which("apt-get") is None:
        pytest.skip("Slurm is not installed and apt-get is not available to install it")
    MAIL_DIR.parent.mkdir(parents=True, exist_ok=True)
    MAIL_DIR.mkdir(exist_ok=True)
    MAILPROG.write_text(
        f'#!/bin/sh\nIDLBOT_SLURM_MAIL_CONFIG={MAIL_CONFIG} exec {sys.executable} -m idlbot.slurm_mail "$@"\n'
    )
    MAILPROG.chmod(0o755)
    env = {**os.environ, "IDLBOT_SLURM_MAILPROG": str(MAILPROG)}
    try:
        done = subprocess.run([str(UP)], env=env, capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("scripts/slurm/up.sh did not finish within 600 s")
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        if "apt-get" in reason[0] or "MariaDB not reachable" in reason[0]:
            pytest.skip(f"cannot bring up Slurm here: {reason[0]}")
        pytest.fail(f"scripts/slurm/up.sh failed (rc {done.returncode}): {done.stderr.strip()[-2000:]}")
    yield Cluster(SLURM_CONF, MAIL_DIR, MAIL_CONFIG)


@pytest.fixture
def cluster(slurm_up: Cluster) -> SlurmCluster:
    return SlurmCluster(SlurmSettings(enabled=True, cluster=CLUSTER, conf=slurm_up.conf))


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Job output goes here; /tmp paths exist on the node because the node is this host."""
    return tmp_path_factory.mktemp("slurm-jobs")


async def run(*argv: str) -> str:
    """Run a Slurm client tool for the test itself (not through the adapter under test)."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "SLURM_CONF": SLURM_CONF},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, f"{argv}: {err.decode()}"
    return out.decode()


async def sbatch(workdir: Path, *args: str) -> int:
    out = await run("sbatch", "--parsable", f"--chdir={workdir}", "--output=slurm-%A_%a.out", *args)
    return int(out.strip().split(";")[0])


async def wait_until(
    check: Callable[[], Awaitable[JobRecord | list[JobRecord] | bool | None]], timeout: float, what: str
) -> JobRecord | list[JobRecord] | bool:
    """Poll a real cluster (it has no push we could await) every 0.5 s until check is truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.5)
