"""The maintenance service against the real single-node Slurm (`slurm_up`): the bot's
window is a MAINT reservation in Slurm, an overlapping job stays pending with Slurm's
reason, and its owner gets the DM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.adapters.slurm.cluster import SlurmCluster
from idlbot.domain.jobs import JobRecord
from idlbot.ports.announce import Added
from idlbot.services.maintenance import MaintenanceService
from idlbot.storage.announce import SqlMaintenanceStore
from idlbot.storage.db import create_engine, upgrade
from idlbot.storage.outbox import SqlOutbox
from tests.slurm.conftest import Cluster, run, sbatch, wait_until

from .conftest import BERLIN, _channel, resolve


@pytest.mark.timeout(120)
async def test_window_on_the_real_cluster(
    slurm_up: Cluster, cluster: SlurmCluster, workdir: Path, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'slurm.db'}"  # storage runs on both dialects elsewhere
    await upgrade(url)
    engine = create_engine(url)
    try:
        await _scenario(slurm_up, cluster, workdir, engine)
    finally:
        await engine.dispose()


async def _scenario(slurm: Cluster, cluster: SlurmCluster, workdir: Path, engine: AsyncEngine) -> None:
    outbox = SqlOutbox(engine)
    service = MaintenanceService(
        cluster, SqlMaintenanceStore(engine), outbox, _channel, resolve, channel="cluster", tz=BERLIN
    )
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = now + timedelta(minutes=20), now + timedelta(minutes=50)
    added = await service.add(start, end, "kernel update", by="sstober", ignore_jobs=True, now=now)
    assert isinstance(added, Added), added
    name = added.window.name
    blocked: int | None = None
    try:
        listed = {r.name: r for r in await cluster.reservations()}
        assert listed[name].maintenance and (listed[name].start, listed[name].end) == (start, end)
        assert (await outbox.get(f"{added.window.key_base}:announce")) is not None

        blocked = await sbatch(slurm, workdir, "-J", "overlaps", "--time=60", "--wrap", "sleep 5")

        async def held() -> JobRecord | None:
            for job in await cluster.running_and_pending():
                if job.job_id == blocked and job.state == "PENDING" and "ReqNodeNotAvail" in job.reason:
                    return job
            return None

        job = await wait_until(held, 30, "the overlapping job to be held for maintenance")
        assert isinstance(job, JobRecord) and "Reserved for maintenance" in job.reason
        await service.tick(datetime.now(UTC))
        dm = await outbox.get(f"{added.window.key_base}:dm:root:{blocked}")
        assert dm is not None and dm.dm_user_id == "mm-root"
        assert f"job {blocked} “overlaps” is pending" in dm.message

        await service.cancel(name, now=datetime.now(UTC))
        assert name not in {r.name for r in await cluster.reservations()}
        assert (await outbox.get(f"{added.window.key_base}:cancelled")) is not None
    finally:
        await cluster.delete_reservation(name)
        if blocked is not None:
            await run(slurm, "scancel", str(blocked))
