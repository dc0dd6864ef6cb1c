"""Fixtures for announcements and maintenance: real SQL stores and outbox (SQLite and
PostgreSQL via `db_url`), a fake clock, an in-memory Slurm for the state machine, and a
Context whose ports carry the two services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.clock import FakeClock
from idlbot.commands.context import Context, Ports, User
from idlbot.config import Settings, load
from idlbot.domain.jobs import JobRecord, NodeInfo, Reservation, ReservationConflict
from idlbot.domain.roles import Role
from idlbot.services.announcements import AnnouncementService
from idlbot.services.maintenance import MaintenanceService
from idlbot.storage.announce import SqlAnnouncementStore, SqlMaintenanceStore
from idlbot.storage.models import OutboxRow
from idlbot.storage.outbox import SqlOutbox
from tests.commands.conftest import ENV, FakeHealth
from tests.slurm.conftest import cluster, slurm_up, workdir  # noqa: F401 - fixtures for test_slurm

ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")
SECRET = b"test-action-secret"


class FakeSlurm:
    """Reservations, queue and nodes in memory: `create_maintenance` refuses while a
    running job's limit reaches into the window, as Slurm does without IGNORE_JOBS."""

    def __init__(self) -> None:
        self.reservations_: dict[str, Reservation] = {}
        self.jobs: list[JobRecord] = []
        self.node_state = [NodeInfo("n1", "idle")]
        self.calls: list[str] = []

    async def create_maintenance(
        self, name: str, start: datetime, end: datetime, reason: str = "", *, ignore_jobs: bool = False
    ) -> Reservation | ReservationConflict:
        self.calls.append(f"create {name}")
        busy = [
            j
            for j in self.jobs
            if j.state == "RUNNING" and (j.time_limit is None or (j.start or start) + j.time_limit > start)
        ]
        if busy and not ignore_jobs:
            return ReservationConflict(name, "Requested nodes are busy", tuple(busy))
        flags = frozenset({"MAINT", "ALL_NODES", *(["IGNORE_JOBS"] if ignore_jobs else [])})
        r = Reservation(name, start, end, flags, "n1", "INACTIVE", "root")
        self.reservations_[name] = r
        return r

    async def reservations(self) -> list[Reservation]:
        return list(self.reservations_.values())

    async def delete_reservation(self, name: str) -> bool:
        return self.reservations_.pop(name, None) is not None

    async def running_and_pending(self) -> list[JobRecord]:
        return list(self.jobs)

    async def nodes(self) -> list[NodeInfo]:
        return list(self.node_state)


def job(job_id: int, user: str, state: str, *, start: datetime | None, limit: timedelta | None) -> JobRecord:
    return JobRecord(
        cluster="idl-gpu", job_id=job_id, submit=start or datetime(2018, 10, 1, tzinfo=BERLIN), user=user,
        name=f"train-{job_id}", state=state, time_limit=limit, start=start,
    )  # fmt: skip


async def _channel(name: str) -> str | None:
    return None if name == "nowhere" else f"chan-{name}"


async def resolve(user: str) -> str | None:
    return None if user == "ghost" else f"mm-{user}"


@pytest.fixture
def settings() -> Settings:
    return load(ROOT / "config.example.toml", env=ENV)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2018, 10, 23, 9, 0, tzinfo=BERLIN))  # Tuesday


@pytest.fixture
def slurm() -> FakeSlurm:
    return FakeSlurm()


@dataclass
class Stack:
    engine: AsyncEngine
    outbox: SqlOutbox
    announcements: AnnouncementService
    maintenance: MaintenanceService

    async def posts(self) -> list[dict[str, Any]]:
        """Every outbox row, in order: what the bot will post."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(OutboxRow).order_by(OutboxRow.id))).all()
        return [dict(r._mapping) for r in rows]


@pytest.fixture
async def stack(engine: AsyncEngine, settings: Settings, slurm: FakeSlurm) -> AsyncIterator[Stack]:
    outbox = SqlOutbox(engine)
    channels = dict(settings.mattermost.channels)
    service = AnnouncementService(
        SqlAnnouncementStore(engine), outbox, _channel, secret=SECRET,
        public_url="http://bot.example:8080", channels=channels,
    )  # fmt: skip
    maint = MaintenanceService(
        slurm, SqlMaintenanceStore(engine), outbox, _channel, resolve,
        channel=channels["cluster"], tz=BERLIN, cluster_name="idl-gpu",
    )  # fmt: skip
    yield Stack(engine, outbox, service, maint)


MakeCtx = Callable[..., Context]


@pytest.fixture
def make_ctx(settings: Settings, clock: FakeClock, stack: Stack) -> MakeCtx:
    def make(username: str = "sstober", role: Role = Role.INSTRUCTOR) -> Context:
        user = User(id=f"id-{username}", username=username, role=role, tz=BERLIN)
        ports = Ports(health=FakeHealth(), outbox=stack.outbox,
                      announcements=stack.announcements, maintenance=stack.maintenance)  # fmt: skip
        return Context(user=user, channel_id="chan1", via="slash", clock=clock, course=settings.course,
                       ports=ports)  # fmt: skip

    return make
