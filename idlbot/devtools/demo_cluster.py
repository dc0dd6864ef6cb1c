"""`idlbot demo --with-cluster`: find a local Slurm, or say in one line why not.

The demo uses a cluster only when one answers here: `sinfo` on PATH and slurmctld
responding to `scontrol show config` (the same tools the bot's Slurm adapter runs; the
single-node test cluster is started by `sudo scripts/slurm/up.sh`). Otherwise the demo
starts without the cluster features and the reason is printed.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass

UP = "sudo scripts/slurm/up.sh"
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Found:
    cluster: str | None  # ClusterName, when Slurm answered
    reason: str  # why not, when it did not


async def find_cluster() -> Found:
    if shutil.which("sinfo") is None or shutil.which("scontrol") is None:
        return Found(None, f"sinfo not found (Slurm is not installed here): install it and run {UP}")
    try:
        proc = await asyncio.create_subprocess_exec(
            "scontrol", "show", "config",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return Found(None, f"slurmctld not responding within {TIMEOUT_S:.0f} s: run {UP}")
    except OSError as exc:
        return Found(None, f"scontrol cannot run ({exc.strerror}): run {UP}")
    if proc.returncode != 0:
        last = (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        return Found(None, f"slurmctld not responding ({last}): run {UP}")
    for line in out.decode(errors="replace").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "ClusterName" and value.strip():
            return Found(value.strip(), "")
    return Found(None, "scontrol show config names no ClusterName: is this a Slurm cluster?")
