"""Two outbox workers (two replicas: own engine, own holder) against the Mattermost
simulator. Replica "a" claims a batch, posts two of its rows and dies before it can mark
them (no mark, no renewal, no release: what `kill -9` leaves). Replica "b" leaves the rows
alone until a's claim expires, then takes them over, finds the two that reached the
server by their key, and sends the rest: every post exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from idlbot.adapters.mattermost.delivery import OutboxWorker
from idlbot.adapters.mattermost.rest import KEY_PROP, MattermostChat
from idlbot.clock import FakeClock
from idlbot.devtools.sim.mattermost import MattermostSim
from idlbot.metrics import Metrics
from idlbot.storage.db import create_engine
from idlbot.storage.outbox import SqlOutbox

T0 = datetime(2024, 10, 1, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=20)


@pytest.fixture
async def sim() -> AsyncIterator[tuple[MattermostSim, str, str, str]]:
    sim = MattermostSim()
    team = sim.add_team("idl")
    bot = sim.add_user("idlbot", is_bot=True)
    sim.add_team_member(team["id"], bot["id"], admin=True)
    channel = sim.add_channel(team["id"], "town-square")
    sim.add_channel_member(channel["id"], bot["id"])
    url = await sim.start()
    try:
        yield sim, url, sim.issue_token(bot["id"]), channel["id"]
    finally:
        await sim.stop()


async def test_a_dead_replicas_batch_is_delivered_once_by_the_other(
    sim: tuple[MattermostSim, str, str, str], db_url: str
) -> None:
    server, url, token, channel = sim
    clock = FakeClock(T0)
    engines = [create_engine(db_url), create_engine(db_url)]
    chats = [MattermostChat(url, token, team="idl", timeout=5) for _ in engines]
    try:
        a_outbox = SqlOutbox(engines[0], holder="a", claim_ttl=TTL)
        b_outbox = SqlOutbox(engines[1], holder="b", claim_ttl=TTL)
        for chat in chats:
            await chat.login()
        a = OutboxWorker(a_outbox, chats[0], clock, Metrics())
        b = OutboxWorker(b_outbox, chats[1], clock, Metrics())
        for i in range(6):
            await a_outbox.enqueue(key=f"post:{i}", message=f"post {i}", now=T0, channel_id=channel)
        claimed = await a_outbox.claim_due(T0)
        for item in claimed[:2]:
            assert await a.deliver(item) is not None  # reached the server; then kill -9
        clock.advance(TTL - timedelta(seconds=1))
        assert await b.run_once() == 0  # a's claim still holds
        clock.advance(seconds=1)
        assert await b.run_once() == 6
        assert (await b_outbox.count_by_state())["sent"] == 6
        keys = Counter(str(p["props"].get(KEY_PROP)) for p in server.posts_in(channel))
        assert keys == Counter({f"post:{i}": 1 for i in range(6)})
    finally:
        for chat in chats:
            await chat.close()
        for engine in engines:
            await engine.dispose()
