"""Fixtures for the job notifications: a fake cluster, the store, the outbox.

The real-cluster fixtures come from tests/slurm/conftest.py; the `slurm_large` marker and its
deselection are repeated here, because that conftest is not loaded when only this folder runs.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.clock import FakeClock
from idlbot.domain.job_events import JobEvent, parse_job_event
from idlbot.domain.jobs import ExitCode, JobKey, JobRecord
from idlbot.services.jobs import JobNotifier
from idlbot.storage.db import create_engine, upgrade
from idlbot.storage.jobs import SqlJobStore
from idlbot.storage.models import OutboxRow
from idlbot.storage.outbox import SqlOutbox
from tests.slurm.conftest import cluster, slurm_up, workdir

__all__ = ["cluster", "slurm_up", "workdir"]

UTC_TZ = ZoneInfo("UTC")
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slurm_large: slow Slurm test, run with IDLBOT_SLURM_LARGE=1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("IDLBOT_SLURM_LARGE") == "1":
        return
    large = [item for item in items if item.get_closest_marker("slurm_large")]
    if large:
        config.hook.pytest_deselected(items=large)
        items[:] = [item for item in items if item not in large]


def job(
    job_id: int, state: str = "COMPLETED", *, user: str = "alice", submit: datetime = T0, **kw: object
) -> JobRecord:
    """A finished sacct record; override any field by keyword."""
    base = JobRecord(
        cluster="idl-gpu", job_id=job_id, submit=submit, user=user, name=f"j{job_id}", state=state,
        exit_code=ExitCode(), elapsed=timedelta(seconds=65), gpus=1, nodes="vm", partition="gpu",
        start=submit + timedelta(seconds=5), end=submit + timedelta(seconds=70), uid=1001,
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


@dataclass
class FakeCluster:
    """sacct as a list the test edits; `lag` calls to job_group return nothing first."""

    records: list[JobRecord] = field(default_factory=list)
    lag: int = 0
    group_calls: int = 0
    since_calls: list[datetime] = field(default_factory=list)
    queue_calls: int = 0
    held: set[JobKey] = field(default_factory=set)  # ended jobs squeue still shows (all if empty)

    async def job_group(self, job_id: int) -> list[JobRecord]:
        self.group_calls += 1
        if self.lag > 0:
            self.lag -= 1
            return []
        mine = [r for r in self.records if r.job_id == job_id or r.array_job_id == job_id]
        if not mine:
            return []
        latest = max(r.submit for r in mine)
        return [r for r in mine if r.submit == latest]

    async def jobs_ended_since(self, when: datetime) -> list[JobRecord]:
        self.since_calls.append(when)
        return [r for r in self.records if r.finished and r.end is not None and r.end >= when]

    async def running_and_pending(self) -> list[JobRecord]:
        return [r for r in self.records if not r.finished]

    async def queued(self, job_id: str | None = None) -> list[JobRecord]:
        """squeue -t all: what slurmctld holds; `held` says which records it still has."""
        self.queue_calls += 1
        held = self.records
        if self.held:
            held = [r for r in self.records if r.key in self.held or not r.finished]
        return [r for r in held if job_id is None or job_id in (r.display_id, str(r.array_job_id))]


async def no_sleep(_: float) -> None:
    return None


USERS = {"alice": "mm-alice", "bob": "mm-bob", "root": "mm-root"}


async def resolve(cluster_user: str) -> str | None:
    return USERS.get(cluster_user)


@pytest.fixture
async def db(tmp_path: object) -> AsyncIterator[AsyncEngine]:
    """SQLite only: the SQL here is the shared ON CONFLICT pattern tested on both dialects."""
    url = f"sqlite+aiosqlite:///{tmp_path}/jobs.db"
    await upgrade(url)
    eng = create_engine(url)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def fake() -> FakeCluster:
    return FakeCluster()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0 + timedelta(minutes=2))


@pytest.fixture
def store(db: AsyncEngine) -> SqlJobStore:
    return SqlJobStore(db)


@pytest.fixture
def outbox(db: AsyncEngine) -> SqlOutbox:
    return SqlOutbox(db)


@pytest.fixture
def notifier(fake: FakeCluster, store: SqlJobStore, outbox: SqlOutbox, clock: FakeClock) -> JobNotifier:
    return make_notifier(fake, store, outbox, clock)


def make_notifier(
    fake: object, store: SqlJobStore, outbox: SqlOutbox, clock: FakeClock, label: Label | None = None
) -> JobNotifier:
    return JobNotifier(
        cluster=fake, cluster_name="idl-gpu", store=store, outbox=outbox, resolve=resolve,  # type: ignore[arg-type]
        clock=clock, tz=UTC_TZ, sleep=no_sleep, label=label,
    )  # fmt: skip


Label = Callable[[str], Awaitable[list[str]]]


async def dms(db: AsyncEngine) -> list[tuple[str, str | None, str]]:
    """(key, dm user id, message) of every outbox row, in order."""
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                select(OutboxRow.key, OutboxRow.dm_user_id, OutboxRow.message).order_by(OutboxRow.id)
            )
        ).all()
    return [(r.key, r.dm_user_id, r.message) for r in rows]


def event(job_id: int, event_id: str = "", **extra: object) -> dict[str, object]:
    """A MailProg event as `mailprog.build_event` writes it."""
    return {
        "version": 1, "id": event_id or f"ev-{job_id}", "received_at": 0, "subject": f"Slurm Job_id={job_id}",
        "recipient": "alice", "cluster": "idl-gpu", "job_id": str(job_id), "mail_type": "Ended",
        "state": "COMPLETED", "env": {"SLURM_JOB_ID": str(job_id)}, **extra,
    }  # fmt: skip


def job_event(job_id: int, event_id: str = "", **extra: object) -> JobEvent:
    """`event(...)` as the route hands it to the notifier, parsed."""
    return parse_job_event(event(job_id, event_id, **extra))
