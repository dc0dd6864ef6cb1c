"""DM channel ids survive a restart: after it (a new adapter on the same database) a DM
to a known user costs no `POST /api/v4/channels/direct` against the Mattermost simulator.

The DMs go the bot's real way: the outbox, the OutboxWorker, MattermostChat on the real
driver over HTTP. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.adapters.mattermost.delivery import OutboxWorker
from idlbot.adapters.mattermost.rest import MattermostChat
from idlbot.clock import FakeClock
from idlbot.devtools.sim.mattermost import MattermostSim
from idlbot.metrics import Metrics
from idlbot.ports.dm_channels import DmChannels
from idlbot.storage.dm_channels import SqlDmChannels
from idlbot.storage.outbox import SqlOutbox

T0 = datetime(2018, 10, 22, 9, 0, tzinfo=UTC)
DIRECT = "/api/v4/channels/direct"


@dataclass
class Course:
    sim: MattermostSim
    url: str
    token: str
    bot: dict[str, Any]
    students: list[dict[str, Any]]


@pytest.fixture
async def course() -> AsyncIterator[Course]:
    sim = MattermostSim()
    team = sim.add_team("idl")
    bot = sim.add_user("idlbot", is_bot=True)
    sim.add_team_member(team["id"], bot["id"], admin=True)
    students = [sim.add_user(name) for name in ("alice", "bob", "carol")]
    for student in students:
        sim.add_team_member(team["id"], student["id"])
    url = await sim.start()
    try:
        yield Course(sim, url, sim.issue_token(bot["id"]), bot, students)
    finally:
        await sim.stop()


def directs(sim: MattermostSim, since: int = 0) -> int:
    return sum(1 for r in sim.requests[since:] if r.method == "POST" and r.path == DIRECT)


async def run_bot(course: Course, engine: AsyncEngine, store: DmChannels | None, tag: str) -> None:
    """One bot process: log in, DM every student through the outbox, stop."""
    chat = MattermostChat(course.url, course.token, team="idl", timeout=5, dm_channels=store)
    outbox = SqlOutbox(engine)
    try:
        await chat.login()
        items = [(f"{tag}:{s['id']}", s["id"]) for s in course.students]
        await outbox.enqueue_dms(items=items, message=f"{tag} is due", now=T0)
        worker = OutboxWorker(outbox, chat, FakeClock(T0), Metrics())
        assert await worker.run_once() == len(course.students)
        assert (await outbox.count_by_state())["pending"] == 0
    finally:
        await chat.close()


def dm_posts(course: Course, tag: str) -> dict[str, str]:
    """The channel each student's DM with this tag landed in, by student id."""
    bot_id = course.bot["id"]
    channels = {}
    for post in course.sim.posts:
        if post["user_id"] == bot_id and post["message"] == f"{tag} is due":
            members = course.sim.state.channels[post["channel_id"]]["name"].split("__")
            (student,) = [m for m in members if m != bot_id]
            channels[student] = post["channel_id"]
    return channels


async def test_after_a_restart_a_dm_to_a_known_user_needs_no_direct_channel_request(
    course: Course, engine: AsyncEngine
) -> None:
    await run_bot(course, engine, SqlDmChannels(engine), "a03")
    assert directs(course.sim) == 3  # cold: one per student, as before
    first = dm_posts(course, "a03")
    assert set(first) == {s["id"] for s in course.students}

    before = len(course.sim.requests)
    await run_bot(course, engine, SqlDmChannels(engine), "a04")  # a new process, same database
    assert directs(course.sim, before) == 0
    assert dm_posts(course, "a04") == first  # and each DM went to the right person


async def test_without_a_store_every_restart_asks_again(course: Course, engine: AsyncEngine) -> None:
    """The CLI's adapter has no store: it still works, it just asks Mattermost again."""
    await run_bot(course, engine, None, "a03")
    before = len(course.sim.requests)
    await run_bot(course, engine, None, "a04")
    assert directs(course.sim, before) == 3
    assert dm_posts(course, "a04") == dm_posts(course, "a03")


async def test_a_failing_store_never_fails_the_dm(course: Course, engine: AsyncEngine) -> None:
    class BrokenStore:
        async def get(self, bot_user_id: str, user_id: str) -> str | None:
            raise OSError("database is locked")

        async def remember(self, bot_user_id: str, user_id: str, channel_id: str) -> None:
            raise OSError("database is locked")

    await run_bot(course, engine, BrokenStore(), "a03")  # every DM still delivered
    assert directs(course.sim) == 3


async def test_channels_are_kept_per_bot_account(engine: AsyncEngine) -> None:
    """A course that replaces its bot account must not post into the old account's channels."""
    store = SqlDmChannels(engine)
    await store.remember("bot-old", "alice", "chan-old")
    assert await store.get("bot-new", "alice") is None
    await store.remember("bot-new", "alice", "chan-new")
    await store.remember("bot-new", "alice", "chan-new")  # a second process learning it too
    assert (await store.get("bot-old", "alice"), await store.get("bot-new", "alice")) == (
        "chan-old",
        "chan-new",
    )
