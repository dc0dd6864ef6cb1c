"""`benchmarks/bench_faculty --quick` runs end to end: real `idlbot run` processes (one bot
for three courses, then two replicas) on PostgreSQL, against the simulator. Times are the
benchmark's to report, never asserted here; what is checked is that every status answer
was a status and every DM of the fan-out arrived exactly once."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys

import pytest

from benchmarks.wrk_measure import REPO_ROOT


@pytest.mark.timeout(180)
async def test_quick_run_completes_and_every_dm_arrives_once(postgres_server_url: str) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk); the benchmark's load comes from it")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.bench_faculty", "--quick", "--pg-url", postgres_server_url,
        cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, f"{out.decode()[-3000:]}\n{err.decode()[-3000:]}"
    result = json.loads(out.decode().splitlines()[-1])
    fan = result["fanout"]
    assert fan["delivered"] == fan["dms"] == 300 and fan["duplicates"] == 0
    assert sum(fan["split"].values()) == 300
    assert result["status_many"]["courses"] == 3 and result["status_many"]["errors"] == 0
