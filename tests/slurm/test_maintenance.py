"""Maintenance windows as MAINT reservations on the real cluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from idlbot.adapters.slurm.cluster import SlurmCluster
from idlbot.domain.defuse import defuse
from idlbot.domain.job_render import render_conflict, render_reservation
from idlbot.domain.jobs import JobRecord, Reservation, ReservationConflict

from .conftest import Cluster, run, sbatch, wait_until


@pytest.mark.timeout(120)
async def test_maintenance_window_lifecycle(slurm_up: Cluster, cluster: SlurmCluster, workdir: Path) -> None:
    name = f"idlbot_test_{datetime.now(UTC):%H%M%S}"
    start = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    end = start + timedelta(minutes=30)
    busy = await sbatch(slurm_up, workdir, "-J", "busy", "--time=30", "--wrap", "sleep 600")
    blocked: int | None = None
    try:

        async def busy_running() -> bool:
            return any(j.job_id == busy and j.state == "RUNNING" for j in await cluster.running_and_pending())

        await wait_until(busy_running, 60, "the busy job to run")
        conflict = await cluster.create_maintenance(name, start, end, "kernel update")
        assert isinstance(conflict, ReservationConflict), conflict
        assert "busy" in conflict.message and busy in [j.job_id for j in conflict.jobs]
        assert f"job {busy} “busy” of root" in render_conflict(conflict, ZoneInfo("UTC"))

        await run(slurm_up, "scancel", str(busy))

        async def busy_gone() -> bool:
            return all(j.job_id != busy for j in await cluster.running_and_pending())

        await wait_until(busy_gone, 30, "the busy job to end")
        created = await cluster.create_maintenance(name, start, end, "kernel update")
        assert isinstance(created, Reservation), created
        assert created.maintenance and (created.start, created.end) == (start, end)
        listed = {r.name: r for r in await cluster.reservations()}
        assert listed[name] == created and "ALL_NODES" in created.flags and created.state == "INACTIVE"
        assert render_reservation(created, ZoneInfo("UTC")).startswith(
            f"Maintenance “{defuse(name)}” on all nodes: "
        )

        blocked = await sbatch(slurm_up, workdir, "-J", "overlaps", "--time=60", "--wrap", "sleep 5")

        async def held() -> JobRecord | None:
            for job in await cluster.running_and_pending():
                if job.job_id == blocked and job.state == "PENDING" and "ReqNodeNotAvail" in job.reason:
                    return job
            return None

        job = await wait_until(held, 30, "the overlapping job to be held for maintenance")
        assert isinstance(job, JobRecord) and "Reserved for maintenance" in job.reason

        assert await cluster.delete_reservation(name) is True
        assert await cluster.delete_reservation(name) is False
        assert name not in {r.name for r in await cluster.reservations()}

        async def started() -> bool:
            job = await cluster.job(blocked or 0)
            return job is not None and job.state != "PENDING"

        await wait_until(started, 30, "the held job to start once the window is gone")
    finally:
        await cluster.delete_reservation(name)
        for job_id in (busy, blocked):
            if job_id is not None:
                await run(slurm_up, "scancel", str(job_id))


async def test_bad_reservation_name_is_refused(cluster: SlurmCluster) -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="letters, digits"):
        await cluster.create_maintenance("x y", now, now + timedelta(hours=1))
