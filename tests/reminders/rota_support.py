"""The session-summary rota on the test database: the real service, store and routine,
a fixed roster (students 1..n as `student<i>`, GitLab names the same) and Mattermost
ids as the reminder fixtures make them (`user_id(i)`; staff `id-<name>`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.config import Settings
from idlbot.domain.gitlab import WikiCreation
from idlbot.domain.ledger import Student
from idlbot.services.rota import RotaService
from idlbot.services.rota_routine import SummaryRota
from idlbot.storage.db import sessionmaker
from idlbot.storage.models import OutboxRow
from idlbot.storage.outbox import SqlOutbox
from idlbot.storage.rota import SqlRotaStore
from tests.reminders.conftest import lookup_channel, user_id


@dataclass
class RotaRig:
    service: RotaService
    routine: SummaryRota
    students: list[Student]


def students(n: int) -> list[Student]:
    return [Student(f"student{i}", gitlab=f"student{i}") for i in range(1, n + 1)]


async def _user_id(username: str) -> str | None:
    if username.startswith("student"):
        return user_id(int(username.removeprefix("student")))
    return f"id-{username}".ljust(26, ".")[:26]


def make_rota(engine: AsyncEngine, settings: Settings, roster: list[Student]) -> RotaRig:
    sessions = sessionmaker(engine)
    outbox = SqlOutbox(sessions)

    async def active() -> list[Student]:
        return [s for s in roster if s.active]

    service = RotaService(
        SqlRotaStore(sessions), outbox, settings.course, settings.summaries, students=active,
        user_id=_user_id, staff=(*settings.roles.instructors, *settings.roles.tutors),
    )  # fmt: skip
    routine = SummaryRota(
        service, outbox, channels=settings.mattermost.channels, channel_id=lookup_channel,
        instructors=settings.roles.instructors,
    )  # fmt: skip
    return RotaRig(service, routine, roster)


def page(slug: str, author: str, at: datetime) -> WikiCreation:
    return WikiCreation(slug=slug, title=slug.rsplit("/", 1)[-1], author=author, created_at=at)


async def queued(engine: AsyncEngine, prefix: str = "") -> list[tuple[str, str | None, str | None, str]]:
    """(key, channel id, DM user id, message) of every queued post whose key starts so."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(OutboxRow).order_by(OutboxRow.id))).all()
    return [(r.key, r.channel_id, r.dm_user_id, r.message) for r in rows if r.key.startswith(prefix)]
