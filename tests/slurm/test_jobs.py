"""Real sbatch jobs on the local cluster, read back through the adapter.

All jobs are submitted together by one session fixture, so the TIMEOUT job's 60-90 s (Slurm
checks time limits every 30 s; one minute is the smallest limit) overlaps the other tests.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from idlbot.adapters.slurm.cluster import SlurmCluster
from idlbot.config import SlurmSettings
from idlbot.domain.job_render import render_array, render_job
from idlbot.domain.jobs import ArraySummary, JobKey, JobRecord, Outcome, group_arrays

from .conftest import CLUSTER, Cluster, run, sbatch, wait_until

UTC_ZONE = ZoneInfo("UTC")


@pytest.fixture(scope="session")
def submitted(slurm_up: Cluster, workdir: Path) -> Iterator[dict[str, int]]:
    """Submit the shared jobs once; tests wait for the ones they need; cancel leftovers at the end."""

    async def submit() -> dict[str, int]:
        ids = {
            "timeout": await sbatch(slurm_up, workdir, "-J", "timeout", "--time=0:01", "--wrap", "sleep 300"),
            "ok": await sbatch(slurm_up, workdir, "-J", "ok", "--wrap", "echo hi"),
            "fail3": await sbatch(slurm_up, workdir, "-J", "fail3", "--wrap", "exit 3"),
            "gpu": await sbatch(
                slurm_up, workdir, "-J", "gpu1", "--gres=gpu:1", "--wrap", "echo $CUDA_VISIBLE_DEVICES"
            ),
            "array": await sbatch(
                slurm_up, workdir, "-J", "arr5", "--array=0-4", "--wrap", "exit $((SLURM_ARRAY_TASK_ID % 2))"
            ),
            "cancel": await sbatch(slurm_up, workdir, "-J", "@all cancel me", "--wrap", "sleep 120"),
        }
        return ids

    ids = asyncio.run(submit())
    yield ids
    subprocess.run(["scancel", *map(str, ids.values())], check=False, env=slurm_up.env)


async def finished(cluster: SlurmCluster, job_id: int, timeout: float = 40) -> JobRecord:
    async def check() -> JobRecord | None:
        job = await cluster.job(job_id)
        # partition set: the row is complete (sacct can briefly show a half-written one)
        return job if job is not None and job.finished and job.partition else None

    result = await wait_until(check, timeout, f"job {job_id} to finish")
    assert isinstance(result, JobRecord)
    return result


async def test_completed_job(slurm_up: Cluster, cluster: SlurmCluster, submitted: dict[str, int]) -> None:
    job = await finished(cluster, submitted["ok"])
    assert (job.state, job.outcome, job.name, job.user) == ("COMPLETED", Outcome.OK, "ok", "root"), job
    assert job.key == JobKey(slurm_up.name, submitted["ok"], job.submit)
    assert job.start is not None and job.end is not None and job.end >= job.start >= job.submit
    assert job.nodes and job.time_limit == timedelta(hours=1)  # the partition's DefaultTime
    text = render_job(job, UTC_ZONE)
    assert text.startswith(f"Job **{job.job_id}** “ok” on {slurm_up.name} completed; it ran "), text
    assert " of its 1 h limit, ended " in text  # the limit from sacct's Timelimit


async def test_failed_job_exit_3(cluster: SlurmCluster, submitted: dict[str, int]) -> None:
    job = await finished(cluster, submitted["fail3"])
    assert (job.state, job.outcome, job.exit_code.status) == ("FAILED", Outcome.FAILED, 3)
    assert "failed (exit code 3)" in render_job(job, UTC_ZONE)


async def test_gpu_job_counts_allocated_gpus(
    cluster: SlurmCluster, submitted: dict[str, int], workdir: Path
) -> None:
    job = await finished(cluster, submitted["gpu"])
    assert (job.outcome, job.gpus) == (Outcome.OK, 1)
    assert (workdir / f"slurm-{job.job_id}_4294967294.out").read_text().strip() == "0"  # CUDA_VISIBLE_DEVICES
    assert "with 1 GPU" in render_job(job, UTC_ZONE)


async def test_cancelled_running_job(
    slurm_up: Cluster, cluster: SlurmCluster, submitted: dict[str, int]
) -> None:
    job_id = submitted["cancel"]

    async def running() -> bool:
        return any(j.job_id == job_id and j.state == "RUNNING" for j in await cluster.running_and_pending())

    await wait_until(running, 30, "the job to run")
    listed = next(j for j in await cluster.running_and_pending() if j.job_id == job_id)
    assert listed.time_limit == timedelta(hours=1) and listed.start is not None and listed.end is None
    await run(slurm_up, "scancel", str(job_id))
    job = await finished(cluster, job_id)
    assert (job.state, job.outcome, job.state_detail) == ("CANCELLED", Outcome.CANCELLED, "by 0")
    text = render_job(job, UTC_ZONE)
    assert "was cancelled (by you)" in text
    assert "@all" not in text and "@\u200ball cancel me" in text  # the job name is defused


async def test_array_of_five_is_one_summary(cluster: SlurmCluster, submitted: dict[str, int]) -> None:
    array_id = submitted["array"]

    async def all_done() -> list[JobRecord]:
        tasks = await cluster.job_group(array_id)
        done = len(tasks) == 5 and all(t.finished for t in tasks)
        return tasks if done else []

    tasks = await wait_until(all_done, 60, "the array's 5 tasks")
    assert isinstance(tasks, list)
    assert sorted(t.array_task_id or 0 for t in tasks) == [0, 1, 2, 3, 4]
    assert {t.array_job_id for t in tasks} == {array_id}
    (summary,) = group_arrays(tasks)
    assert isinstance(summary, ArraySummary)
    assert dict(summary.counts) == {"COMPLETED": 3, "FAILED": 2}
    assert summary.outcome is Outcome.FAILED and summary.unsuccessful_tasks == [1, 3]
    assert "5 tasks (3 COMPLETED, 2 FAILED); not completed: tasks 1, 3" in render_array(summary, UTC_ZONE)


async def test_jobs_ended_since_finds_them_all(cluster: SlurmCluster, submitted: dict[str, int]) -> None:
    for name in ("ok", "fail3", "gpu"):
        await finished(cluster, submitted[name])
    since = datetime.now(UTC) - timedelta(minutes=10)
    ended = {r.job_id: r for r in await cluster.jobs_ended_since(since)}
    assert {submitted["ok"], submitted["fail3"], submitted["gpu"]} <= set(ended)
    assert all(r.finished for r in ended.values())
    assert len({r.key for r in ended.values()}) == len(ended)


async def test_unknown_job_is_none(cluster: SlurmCluster) -> None:
    assert await cluster.job(99_999_999) is None


async def test_nodes_and_version(cluster: SlurmCluster) -> None:
    nodes = await cluster.nodes()
    assert len(nodes) == 1 and nodes[0].state in {"idle", "mixed", "allocated"}
    assert await cluster.version() >= (22, 5)


async def test_bad_conf_is_a_cluster_error(slurm_up: Cluster, tmp_path: Path) -> None:
    from idlbot.domain.jobs import ClusterError

    broken = SlurmCluster(
        SlurmSettings(enabled=True, cluster=CLUSTER, conf=str(tmp_path / "none.conf")), timeout=5
    )
    with pytest.raises(ClusterError):
        await broken.reservations()


@pytest.mark.timeout(200)
async def test_timeout_job(cluster: SlurmCluster, submitted: dict[str, int]) -> None:
    """Last in this file: it waits for Slurm's 30 s limit checks (60-90 s after the start)."""
    job = await finished(cluster, submitted["timeout"], timeout=180)
    assert (job.state, job.outcome) == ("TIMEOUT", Outcome.TIMEOUT)
    assert job.elapsed >= timedelta(seconds=60) and job.time_limit == timedelta(minutes=1)
    assert "hit its time limit" in render_job(job, UTC_ZONE)
    text = render_job(job, UTC_ZONE)
    assert "; it ran 1 min" in text and "all of its 1 min limit" in text


@pytest.mark.slurm_large
@pytest.mark.timeout(400)
async def test_array_of_200(slurm_up: Cluster, cluster: SlurmCluster, workdir: Path) -> None:
    array_id = await sbatch(
        slurm_up, workdir, "-J", "arr200", "--array=0-199", "--output=/dev/null", "--wrap", "true"
    )

    async def all_done() -> list[JobRecord]:
        tasks = await cluster.job_group(array_id)
        return tasks if len(tasks) == 200 and all(t.finished for t in tasks) else []

    tasks = await wait_until(all_done, 380, "200 array tasks")
    assert isinstance(tasks, list)
    (summary,) = group_arrays(tasks)
    assert isinstance(summary, ArraySummary) and dict(summary.counts) == {"COMPLETED": 200}
