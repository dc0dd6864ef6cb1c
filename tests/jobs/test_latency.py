"""How soon the `notify jobs all` path (sacct polling, no MailProg) DMs after a job ends, on the
real clusters: the notifier runs under the app's own periodic driver, as in production.

The figures are printed (run with `-s` to see them) and go to the README; the asserts are
generous bounds only, so a loaded machine does not make the test flaky. The latency is the
outbox row's creation time minus sacct's End (whole seconds), so it may be off by up to 1 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.adapters.slurm.cluster import SlurmCluster
from idlbot.clock import SystemClock
from idlbot.scheduling.passes import job_poll
from idlbot.scheduling.periodic import Periodic
from idlbot.services.jobs import JobNotifier
from idlbot.storage.jobs import SqlJobStore
from idlbot.storage.outbox import SqlOutbox
from tests.slurm.conftest import Cluster, sbatch

from .conftest import UTC_TZ, resolve
from .test_cluster import rows_for

LEGACY_POLL = 10.0  # the poll interval the notifier had no tick of its own (the "before" runs)


@pytest.fixture
async def polled(slurm_up: Cluster, cluster: SlurmCluster, db: AsyncEngine) -> AsyncIterator[JobNotifier]:
    """A notifier for `root` on `all`, polled by a Periodic driver on the system clock."""
    store, outbox = SqlJobStore(db), SqlOutbox(db)
    clock = SystemClock()
    await store.set_mode("root", user_id="mm-root", mode="all", now=clock.now())
    notifier = JobNotifier(
        cluster=cluster, cluster_name=slurm_up.name, store=store, outbox=outbox, resolve=resolve,
        clock=clock, tz=UTC_TZ, first_lookback=timedelta(minutes=2),
    )  # fmt: skip
    periodic = Periodic(clock)
    periodic.every("job poll", getattr(notifier, "tick_seconds", LEGACY_POLL), job_poll(notifier, None))
    driver = asyncio.create_task(periodic.run())
    try:
        yield notifier
    finally:
        await periodic.stop()
        driver.cancel()
        await asyncio.gather(driver, return_exceptions=True)


async def _latency(db: AsyncEngine, cluster: SlurmCluster, name: str, job_id: int, timeout: float) -> float:
    """Seconds from the job's (or the array's last task's) end to its DM row."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (rows := await rows_for(db, name, job_id)):
        assert loop.time() < deadline, f"no DM for job {job_id} within {timeout:.0f} s"
        await asyncio.sleep(0.2)
    ((_, user, _, created),) = rows
    ends = [r.end for r in await cluster.job_group(job_id) if r.end is not None]
    assert user == "mm-root" and ends
    return float(created.timestamp() - max(ends).timestamp())  # type: ignore[attr-defined]


@pytest.mark.timeout(150)
async def test_single_job_dm_latency(
    slurm_up: Cluster, cluster: SlurmCluster, db: AsyncEngine, polled: JobNotifier, workdir: Path
) -> None:
    seen = []
    for i in range(3):
        job_id = await sbatch(slurm_up, workdir, "-J", f"lat{i}", "--wrap", "sleep 2")
        seen.append(await _latency(db, cluster, slurm_up.name, job_id, 90))
        ((_, _, text, _),) = await rows_for(db, slurm_up.name, job_id)
        assert "; it ran 2 s of its 1 h limit" in text or "; it ran 3 s of its 1 h limit" in text, text
    print(f"\nslurm {slurm_up.version}: single job DM latency {', '.join(f'{s:.1f}' for s in seen)} s")
    assert max(seen) < 20  # measured 1-5 s; the sacct poll alone took up to poll_seconds (60 s)


@pytest.mark.timeout(200)
async def test_array_of_20_dm_latency(
    slurm_up: Cluster, cluster: SlurmCluster, db: AsyncEngine, polled: JobNotifier, workdir: Path
) -> None:
    array = await sbatch(
        slurm_up, workdir, "-J", "lat20", "-a", "0-19", "--output=/dev/null", "--wrap", "true"
    )
    took = await _latency(db, cluster, slurm_up.name, array, 180)
    (row,) = await rows_for(db, slurm_up.name, array)
    print(f"\nslurm {slurm_up.version}: 20-task array DM latency {took:.1f} s")
    assert "20 tasks (20 COMPLETED)" in row[2], row[2]
    assert took < 30  # measured 2-6 s; waiting for the 30 s settling time took 35-37 s
