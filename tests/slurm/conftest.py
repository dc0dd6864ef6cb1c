"""A real single-node Slurm cluster for the tests in this folder, in two versions.

The session fixture is parametrized: "22.05" runs scripts/slurm/up.sh (Debian 12's packages on
this host; a no-op taking 0.1 s when CI already ran it), "24.11" runs scripts/slurm/up24.sh (Debian
13's packages in a trixie chroot, a second cluster `idl-gpu24` on other ports, reached through
wrapper commands in /run/slurm24/bin). Every test that uses a cluster runs against both. Each
skips, with the reason visible in the summary, when it cannot work here: not root, no apt-get and
no Slurm, no MariaDB, or (24.11) no way to build the chroot. The 22.05 MailProg is a small
wrapper that runs `python -m idlbot.adapters.slurm.mailprog` with a test config (the chroot's runs
the same file with trixie's Python), because slurmctld gives MailProg an empty environment: the
config file is the only way in. Each version has its own config and spool (`MAIL_DIR/v22`,
`MAIL_DIR/v24`), so the two clusters' tests can run at the same time in two pytest-xdist
workers. Jobs run as root (Slurm allows it).

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
from typing import Any

import pytest

from idlbot.adapters.slurm.cluster import SlurmCluster
from idlbot.config import SlurmSettings
from idlbot.domain.jobs import JobRecord

REPO = Path(__file__).resolve().parents[2]
UP = REPO / "scripts" / "slurm" / "up.sh"
UP24 = REPO / "scripts" / "slurm" / "up24.sh"
SLURM_CONF = "/etc/slurm/slurm.conf"  # for 24.11 the same path names the chroot's file
CLUSTER = "idl-gpu"
VERSIONS = ("22.05", "24.11")
MAIL_DIR = Path("/run/slurm/idlbot-test-mail")  # stable paths: a second session hits up.sh's fast path
MAIL_DIRS = {"22.05": MAIL_DIR / "v22", "24.11": MAIL_DIR / "v24"}  # v24: the default of up24.sh
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
    name: str = CLUSTER
    bin_dir: str | None = None  # the client tools, when not the ones on PATH
    version: str = "22.05"

    @property
    def env(self) -> dict[str, str]:
        env = {**os.environ, "SLURM_CONF": self.conf}
        if self.bin_dir:
            env["PATH"] = os.pathsep.join([self.bin_dir, env.get("PATH", os.defpath)])
        return env

    def settings(self, **overrides: Any) -> SlurmSettings:
        return SlurmSettings(
            enabled=True, cluster=self.name, conf=self.conf, bin_dir=self.bin_dir, **overrides
        )


@pytest.fixture(scope="session", params=VERSIONS, ids=[f"slurm{v}" for v in VERSIONS])
def slurm_up(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """Bring the cluster up once per session (idempotent), or skip with the reason."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("the Slurm tests need root on Linux (up.sh installs packages and starts daemons)")
    if shutil.which("sbatch") is None and shutil.which("apt-get") is None:
        pytest.skip("Slurm is not installed and apt-get is not available to install it")
    mail_dir = MAIL_DIRS[request.param]
    mail_dir.mkdir(parents=True, exist_ok=True)
    if request.param == "24.11":
        # the chroot's MailProg runs idlbot/adapters/slurm/mailprog.py with MAIL_DIR/v24's config
        # (MAIL_DIR is bind-mounted into the chroot)
        script, env = UP24, dict(os.environ)
        found = Cluster(
            SLURM_CONF, mail_dir, mail_dir / "slurm-mail.toml", "idl-gpu24", "/run/slurm24/bin", "24.11"
        )
    else:
        MAILPROG.write_text(
            f"#!/bin/sh\nIDLBOT_SLURM_MAIL_CONFIG={mail_dir / 'slurm-mail.toml'} "
            f'exec {sys.executable} -m idlbot.adapters.slurm.mailprog "$@"\n'
        )
        MAILPROG.chmod(0o755)
        script, env = UP, {**os.environ, "IDLBOT_SLURM_MAILPROG": str(MAILPROG)}
        found = Cluster(SLURM_CONF, mail_dir, mail_dir / "slurm-mail.toml")
    try:
        done = subprocess.run(
            [str(script)], env=env, capture_output=True, text=True, timeout=900, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{script.name} did not finish within 900 s")
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        if any(why in reason[0] for why in ("apt-get", "MariaDB not reachable", "mmdebstrap", "chroot")):
            pytest.skip(f"cannot bring up Slurm {request.param} here: {reason[0]}")
        pytest.fail(f"{script.name} failed (rc {done.returncode}): {done.stderr.strip()[-2000:]}")
    _clear_leftovers(found)
    yield found


def _clear_leftovers(found: Cluster) -> None:
    """Delete the reservations an interrupted earlier run left (the tests make them under
    these prefixes): the clusters outlive a session, and a stale maintenance window would
    be announced by every later test's bot."""
    env = {**os.environ, "SLURM_CONF": found.conf}
    if found.bin_dir:
        env["PATH"] = os.pathsep.join([found.bin_dir, env.get("PATH", os.defpath)])
    listed = subprocess.run(
        ["scontrol", "-o", "show", "reservation"], env=env, capture_output=True, text=True, check=False
    )
    for line in listed.stdout.splitlines():
        name = line.split(" ", 1)[0].removeprefix("ReservationName=")
        if name.startswith(("maint_", "idlbot_test_", "admin_maint_")):
            subprocess.run(["scontrol", "delete", f"reservation={name}"], env=env, check=False)


@pytest.fixture
def cluster(slurm_up: Cluster) -> SlurmCluster:
    return SlurmCluster(slurm_up.settings())


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Job output goes here; /tmp paths exist on the node because the node is this host."""
    return tmp_path_factory.mktemp("slurm-jobs")


async def run(c: Cluster, *argv: str) -> str:
    """Run a Slurm client tool of cluster `c` for the test itself (not through the adapter)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=c.env
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, f"{argv}: {err.decode()}"
    return out.decode()


async def sbatch(c: Cluster, workdir: Path, *args: str) -> int:
    out = await run(c, "sbatch", "--parsable", f"--chdir={workdir}", "--output=slurm-%A_%a.out", *args)
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
