"""`/idl jobs` and `/idl notify jobs ...` with an in-memory Jobs port."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from idlbot.clock import FakeClock
from idlbot.commands import jobs as jobs_commands
from idlbot.commands.context import Context, Ports, User
from idlbot.commands.registry import Registry
from idlbot.domain.job_reasons import MaintWindow
from idlbot.domain.jobs import JobRecord
from idlbot.domain.roles import Role
from idlbot.ports.jobs import Jobs, NotifyMode

from .conftest import T0, job


@dataclass
class FakeJobs:
    records: list[JobRecord] = field(default_factory=list)
    modes: dict[str, NotifyMode] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=lambda: {"alice": "al123"})
    windows: list[MaintWindow] = field(default_factory=list)

    async def cluster_user(self, username: str) -> str | None:
        return self.accounts.get(username)

    async def notify_mode(self, cluster_user: str) -> NotifyMode:
        return self.modes.get(cluster_user, "mail")

    async def set_notify_mode(
        self, cluster_user: str, *, user_id: str, mode: NotifyMode, now: datetime
    ) -> None:
        self.modes[cluster_user] = mode

    async def my_jobs(self, cluster_user: str, *, since: datetime) -> list[JobRecord]:
        return [
            r for r in self.records if r.user == cluster_user and (not r.finished or (r.end or T0) >= since)
        ]

    async def queued(self, job_id: str) -> list[JobRecord]:
        return [r for r in self.records if not r.finished and (job_id in (r.display_id, str(r.array_job_id)))]

    async def history(self, job_id: int) -> list[JobRecord]:
        return [r for r in self.records if r.finished and job_id in (r.job_id, r.array_job_id)]

    async def maintenance_windows(self) -> list[MaintWindow]:
        return list(self.windows)


BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class CourseTz:
    """The one field of the course `jobs why` reads: maintenance is told in course time."""

    tz: ZoneInfo = BERLIN


def ctx(port: Jobs | None, username: str = "alice", role: Role = Role.STUDENT) -> Context:
    user = User(id=f"id-{username}", username=username, role=role, tz=ZoneInfo("UTC"))
    return Context(
        user=user, channel_id="c", via="slash", clock=FakeClock(T0 + timedelta(hours=1)),
        course=CourseTz(), ports=Ports(jobs=port),  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.fixture
def registry() -> Registry:
    return Registry([jobs_commands.group])


async def test_jobs_lists_running_then_recent(registry: Registry) -> None:
    port = FakeJobs(
        records=[
            job(2, "RUNNING", user="al123", end=None),
            job(1, "FAILED", user="al123"),
            job(3, "COMPLETED", user="bob"),
            job(4, "COMPLETED", user="al123", end=T0 - timedelta(days=3)),
        ]
    )
    reply = await registry.run(ctx(port), "jobs")
    lines = reply.text.splitlines()
    assert lines[0] == "Jobs of `al123`:"
    assert lines[1].startswith("- **2** “j2” running") and lines[2].startswith("- **1** “j1” failed")
    assert "j3" not in reply.text and "j4" not in reply.text
    assert "`mail`" in lines[-1]


async def test_notify_sets_and_shows_the_mode(registry: Registry) -> None:
    port = FakeJobs()
    reply = await registry.run(ctx(port), "notify jobs all")
    assert "every job of yours" in reply.text and port.modes == {"al123": "all"}
    assert "`all`" in (await registry.run(ctx(port), "notify jobs")).text
    assert "Usage" in (await registry.run(ctx(port), "notify jobs sometimes")).text
    assert "Usage" in (await registry.run(ctx(port), "notify")).text


async def test_without_cluster_account_or_port_the_user_is_told(registry: Registry) -> None:
    assert "cluster account" in (await registry.run(ctx(FakeJobs(), "zed"), "jobs")).text
    unset = "`/idl jobs` is not set up on this bot: it needs Slurm."
    assert (await registry.run(ctx(None), "jobs")).text == unset


async def test_every_example_runs(registry: Registry) -> None:
    for command in registry.commands():
        assert command.summary.endswith(".") and command.examples
        for example in command.examples:
            assert "Something broke" not in (await registry.run(ctx(FakeJobs()), example.text)).text


async def test_desk_puts_queued_jobs_first_then_newest_ended() -> None:
    from idlbot.services.jobs_desk import JobsDesk

    from .conftest import FakeCluster

    fake = FakeCluster(
        records=[
            job(1, user="al123", end=T0),
            job(2, "PENDING", user="al123", end=None, start=None),
            job(3, user="al123", end=T0 + timedelta(minutes=5)),
        ]
    )

    async def account(name: str) -> str | None:
        return "al123"

    desk = JobsDesk(cluster=fake, store=None, cluster_user=account)  # type: ignore[arg-type]
    assert [r.job_id for r in await desk.my_jobs("al123", since=T0 - timedelta(hours=1))] == [2, 3, 1]


async def test_an_array_is_one_line_with_counts_per_state(registry: Registry) -> None:
    def task(raw: int, state: str, task_id: int | None = None, tasks: str | None = None) -> JobRecord:
        ended = None if state in ("RUNNING", "PENDING") else T0 + timedelta(minutes=30)
        return job(raw, state, user="al123", name="train-lyrics", array_job_id=12345,
                   array_task_id=task_id, array_tasks=tasks, end=ended)  # fmt: skip

    queued = [task(12345, "PENDING", tasks="18-19"), *(task(12360 + i, "RUNNING", 15 + i) for i in range(3))]
    ended = [task(12346 + i, "COMPLETED", i) for i in range(15)]
    ended.append(task(12362, "COMPLETED", 17))  # ended between squeue's and sacct's reads
    port = FakeJobs(records=[*queued, job(7, "RUNNING", user="al123", end=None), *ended])
    lines = (await registry.run(ctx(port), "jobs")).text.splitlines()
    assert lines[1] == "- **12345[]** “train-lyrics”: 16 completed, 2 running, 2 pending", lines
    assert lines[2].startswith("- **7** “j7” running") and len(lines) == 4


async def test_array_states_are_ordered_and_spelled_out() -> None:
    from idlbot.domain.job_listing import ArrayLine, listing

    records = [
        job(2, "OUT_OF_MEMORY", array_job_id=1, array_task_id=1, name="@all sweep"),
        job(3, "PENDING", array_job_id=1, array_tasks="2-4", end=None),
        job(4, "FAILED", array_job_id=1, array_task_id=0),
    ]
    (line,) = listing(records)
    assert isinstance(line, ArrayLine) and line.text == "1 failed, 1 out of memory, 3 pending"
    text = (await Registry([jobs_commands.group]).run(ctx(FakeJobs(records=[
        replace(r, user="al123") for r in records
    ])), "jobs")).text  # fmt: skip
    assert "“@\u200ball sweep”" in text and "@all" not in text


async def test_why_explains_a_pending_job_in_course_time(registry: Registry) -> None:
    from idlbot.domain.job_reasons import MaintWindow

    start = T0 + timedelta(hours=3)
    window = MaintWindow("maint_20261201_1500", start, start + timedelta(hours=5), "@all kernel")
    held = job(9, "PENDING", user="al123", end=None, start=None, time_limit=timedelta(hours=4),
               reason="ReqNodeNotAvail, Reserved for maintenance")  # fmt: skip
    port = FakeJobs(records=[held], windows=[window])
    text = (await registry.run(ctx(port), "jobs why 9")).text
    lines = text.splitlines()
    assert (
        lines[0] == "Job **9** “j9” is pending (Slurm's reason: “ReqNodeNotAvail, Reserved for maintenance”)."
    )
    assert "maint\\_20261201\\_1500" in lines[1] and "until Tue 01 Dec 2026, 21:00 CET" in lines[1]  # Berlin
    assert lines[2].startswith(
        "Next step: Wait: it can start after the window ends Tue 01 Dec 2026, 21:00 CET"
    )
    assert "@all" not in text


async def test_why_keeps_students_to_their_own_jobs(registry: Registry) -> None:
    theirs = job(8, "PENDING", user="bo123", end=None, start=None, reason="JobHeldUser")
    port = FakeJobs(records=[theirs])
    assert "only about your own jobs" in (await registry.run(ctx(port), "jobs why 8")).text
    staff = (await registry.run(ctx(port, "tutor1", Role.TUTOR), "jobs why 8")).text
    assert "`scontrol release 8`" in staff
    assert (await registry.run(ctx(port), "jobs why 77")).text == "I find no job 77 on the cluster."
    assert "cluster account" in (await registry.run(ctx(port, "zed"), "jobs why 8")).text
    assert "Give a job id" in (await registry.run(ctx(port), "jobs why soon")).text
    assert "Usage" in (await registry.run(ctx(port), "jobs please")).text


async def test_why_on_a_running_or_ended_job_says_so(registry: Registry) -> None:
    running = job(5, "RUNNING", user="al123", end=None, time_limit=timedelta(hours=2),
                  elapsed=timedelta(hours=1, minutes=2))  # fmt: skip
    ended = job(6, "FAILED", user="al123")
    port = FakeJobs(records=[running, ended])
    assert (await registry.run(ctx(port), "jobs why 5")).text == (
        "Job **5** “j5” is not pending: it is running (for 1 h 02 min of its 2 h limit)."
    )
    assert (await registry.run(ctx(port), "jobs why 6")).text.startswith(
        "Job **6** “j6” is not pending: it failed, ended Tue 01 Dec 2026, 12:01 UTC"
    )
