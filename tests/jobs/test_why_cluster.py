"""`/idl jobs why` against the real clusters (22.05 and 24.11): jobs held back for real reasons,
read through squeue, explained through the registry as a student (`root` on the cluster) or staff.

The clusters are shared with other tests, so where another job could change Slurm's reason
(Priority versus Resources), the test accepts either and checks the matching explanation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.adapters.slurm.cluster import SlurmCluster
from idlbot.clock import SystemClock
from idlbot.commands import jobs as jobs_commands
from idlbot.commands.context import Context, Ports, User
from idlbot.commands.registry import Registry
from idlbot.domain.jobs import JobRecord, Reservation
from idlbot.domain.maintenance import new_window
from idlbot.domain.roles import Role
from idlbot.services.jobs_desk import JobsDesk
from idlbot.storage.announce import SqlMaintenanceStore
from idlbot.storage.jobs import SqlJobStore
from tests.slurm.conftest import Cluster, run, sbatch, wait_until

COURSE_TZ = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class CourseTz:
    tz: ZoneInfo = COURSE_TZ


@dataclass
class Why:
    registry: Registry
    desk: JobsDesk
    store: SqlMaintenanceStore
    cluster: SlurmCluster
    slurm: Cluster
    submitted: list[int]

    async def ask(self, job: int | str, *, role: Role = Role.STUDENT, username: str = "alice") -> str:
        user = User(id=f"id-{username}", username=username, role=role, tz=ZoneInfo("UTC"))
        ctx = Context(
            user=user, channel_id="c", via="slash", clock=SystemClock(), course=CourseTz(),  # type: ignore[arg-type]
            ports=Ports(jobs=self.desk),
        )  # fmt: skip
        return (await self.registry.run(ctx, f"jobs why {job}")).text

    async def submit(self, workdir: Path, *args: str) -> int:
        job_id = await sbatch(self.slurm, workdir, "--output=/dev/null", *args)
        self.submitted.append(job_id)
        return job_id

    async def reason(self, job_id: int, wanted: set[str], timeout: float = 40) -> JobRecord:
        """Wait until the job pends for one of `wanted` (Slurm sets "None" first)."""

        async def check() -> JobRecord | None:
            for r in await self.cluster.queued(str(job_id)):
                if r.state == "PENDING" and r.reason.split(",")[0] in wanted:
                    return r
            return None

        found = await wait_until(check, timeout, f"job {job_id} pending for {wanted}")
        assert isinstance(found, JobRecord)
        return found


@pytest.fixture
async def why(slurm_up: Cluster, cluster: SlurmCluster, db: AsyncEngine) -> AsyncIterator[Why]:
    async def account(username: str) -> str | None:
        return {"alice": "root", "bob": "bo123"}.get(username)

    store = SqlMaintenanceStore(db)
    desk = JobsDesk(
        cluster=cluster, store=SqlJobStore(db), cluster_user=account, windows=store,
        reservations=cluster.reservations,
    )  # fmt: skip
    helper = Why(Registry([jobs_commands.group]), desk, store, cluster, slurm_up, [])
    yield helper
    if helper.submitted:
        await run(slurm_up, "scancel", *map(str, helper.submitted))


@pytest.mark.timeout(90)
async def test_held_dependency_and_never_satisfied(why: Why, workdir: Path) -> None:
    held = await why.submit(workdir, "-J", "held @all", "-H", "--wrap", "true")
    text = await why.ask(held)
    assert "JobHeldUser" in text and f"`scontrol release {held}`" in text, text
    assert "@all" not in text and "“held @\u200ball”" in text  # the job name is defused

    failing = await why.submit(workdir, "-J", "fails", "--wrap", "exit 1")
    blocker = await why.submit(workdir, "-J", "blocker", "-H", "--wrap", "true")
    waiting = await why.submit(workdir, "-J", "waits", f"--dependency=afterok:{blocker}", "--wrap", "true")
    never = await why.submit(workdir, "-J", "never", f"--dependency=afterok:{failing}", "--wrap", "true")
    await why.reason(waiting, {"Dependency"})
    text = await why.ask(waiting)
    assert "waits for the jobs it depends on" in text and f"afterok:{blocker}" in text, text
    await why.reason(never, {"DependencyNeverSatisfied"}, timeout=60)
    text = await why.ask(never)
    assert "It will never start" in text and f"`scancel {never}`" in text, text


@pytest.mark.timeout(120)
async def test_maintenance_window_is_named_with_its_end_in_course_time(
    why: Why, cluster: SlurmCluster, workdir: Path
) -> None:
    name = f"idlbot_test_why_{datetime.now(UTC):%H%M%S}"
    start = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    end = start + timedelta(minutes=30)
    made = await cluster.create_maintenance(name, start, end, "kernel update", ignore_jobs=True)
    assert isinstance(made, Reservation), made
    try:
        await why.store.add(new_window(made, source="bot", reason="kernel update"), datetime.now(UTC))
        job = await why.submit(workdir, "-J", "long", "--time=60", "--wrap", "true")
        record = await why.reason(job, {"ReqNodeNotAvail"})
        assert "Reserved for maintenance" in record.reason
        text = await why.ask(job)
        ends = end.astimezone(COURSE_TZ)
        assert f"maintenance window “{name.replace('_', chr(92) + '_')}” (kernel update)" in text, text
        assert f"{ends:%H:%M} {ends.tzname()}" in text and "TimeLimit=" in text, text
    finally:
        await cluster.delete_reservation(name)


@pytest.mark.timeout(120)
async def test_resources_and_priority_on_a_full_node(why: Why, workdir: Path) -> None:
    fill = await why.submit(workdir, "-J", "fill", "-c", "2", "--time=3", "--wrap", "sleep 90")

    async def running() -> bool:
        return any(r.state == "RUNNING" for r in await why.cluster.queued(str(fill)))

    await wait_until(running, 60, "the filling job to run")
    first = await why.submit(workdir, "-J", "next", "-c", "2", "--time=3", "--wrap", "true")
    second = await why.submit(workdir, "-J", "after", "-c", "2", "--time=3", "--wrap", "true")
    said = {"Resources": "free CPUs, GPUs or memory", "Priority": "ahead of yours in the queue"}
    for job in (first, second):
        record = await why.reason(job, set(said))
        text = await why.ask(job)
        assert said[record.reason] in text and "Next step:" in text, text
    assert (await why.reason(second, {"Priority"})).reason == "Priority"  # behind `first`, at least


@pytest.mark.timeout(60)
async def test_not_pending_unknown_and_someone_elses(why: Why, workdir: Path) -> None:
    done = await why.submit(workdir, "-J", "quick", "--wrap", "true")

    async def ended() -> bool:
        return any(r.finished for r in await why.cluster.queued(str(done)))

    await wait_until(ended, 40, "the quick job to end")
    text = await why.ask(done)
    assert text.startswith(f"Job **{done}** “quick” is not pending: it completed"), text
    assert await why.ask(99_999_999) == "I find no job 99999999 on the cluster."
    assert "only about your own jobs" in await why.ask(done, username="bob")
    staff = await why.ask(done, role=Role.TUTOR, username="tutor1")
    assert "is not pending" in staff
    assert "Give a job id" in await why.ask("12x")


@pytest.mark.timeout(120)
async def test_an_array_is_one_line_in_the_listing(why: Why, workdir: Path) -> None:
    from idlbot.domain.job_listing import ArrayLine, listing

    array = await why.submit(
        workdir, "-J", "sweep", "-a", "0-3%1", "--wrap", "sleep 2; exit $((SLURM_ARRAY_TASK_ID==1))"
    )
    await why.reason(array, {"JobArrayTaskLimit"})
    text = await why.ask(array)
    assert f"Job **{array}\\_\\[" in text and "ArrayTaskThrottle" in text, text

    async def all_ended() -> bool:
        records = await why.cluster.job_group(array)
        return len(records) == 4 and all(r.finished and r.partition for r in records)

    await wait_until(all_ended, 90, "the array's tasks to end")
    since = datetime.now(UTC) - timedelta(minutes=10)
    found = listing(await why.desk.my_jobs("root", since=since))
    (line,) = [x for x in found if isinstance(x, ArrayLine) and x.array_job_id == array]
    assert line.text == "3 completed, 1 failed", line
    said = await why.ask(array)
    assert said == f"Array job **{array}** “sweep” has no pending task: 3 completed, 1 failed.", said
