"""SqlLeases on SQLite and PostgreSQL: acquire-or-renew is one atomic statement, an
expired lease goes to whoever asks next, a clean stop releases only the holder's own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.leases import SqlLeases

T0 = datetime(2018, 10, 23, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=20)


async def test_a_free_lease_is_taken_and_held_against_others(engine: AsyncEngine) -> None:
    leases = SqlLeases(sessionmaker(engine))
    assert await leases.acquire("pruning", "a", T0, TTL)
    assert not await leases.acquire("pruning", "b", T0 + timedelta(seconds=19), TTL)
    assert await leases.acquire("pruning", "a", T0 + timedelta(seconds=5), TTL)  # renewed to 25 s
    assert not await leases.acquire("pruning", "b", T0 + timedelta(seconds=24), TTL)
    assert await leases.holders(T0 + timedelta(seconds=24)) == {"pruning": "a"}
    assert await leases.acquire("announcements", "b", T0, TTL)  # another name is another lease


async def test_an_expired_lease_goes_to_the_next_replica_that_asks(engine: AsyncEngine) -> None:
    leases = SqlLeases(sessionmaker(engine))
    assert await leases.acquire("job poll", "a", T0, TTL)
    later = T0 + TTL  # "a" did not renew (killed): expired at exactly T0 + TTL
    assert await leases.holders(later) == {}
    assert await leases.acquire("job poll", "b", later, TTL)
    assert not await leases.acquire("job poll", "a", later + timedelta(seconds=1), TTL)
    assert await leases.holders(later) == {"job poll": "b"}


async def test_release_drops_only_the_holders_leases(engine: AsyncEngine) -> None:
    leases = SqlLeases(sessionmaker(engine))
    await leases.acquire("x", "a", T0, TTL)
    await leases.acquire("y", "b", T0, TTL)
    await leases.release("a", ["x", "y"])
    assert await leases.holders(T0) == {"y": "b"}
    assert await leases.acquire("x", "b", T0, TTL)  # at once, not one TTL later
    await leases.clear()
    assert await leases.holders(T0) == {}


async def test_racing_replicas_one_gets_an_expired_lease(db_url: str) -> None:
    """Eight replicas, each on its own engine (as separate processes), ask for the same
    expired lease at the same instant: exactly one holds it."""
    engines = [create_engine(db_url) for _ in range(8)]
    try:
        await SqlLeases(engines[0]).acquire("gitlab reconciliation", "dead", T0, TTL)
        now = T0 + timedelta(minutes=1)
        got = await asyncio.gather(
            *(SqlLeases(e).acquire("gitlab reconciliation", f"r{i}", now, TTL) for i, e in enumerate(engines))
        )
        assert sum(got) == 1
        winner = f"r{got.index(True)}"
        assert await SqlLeases(engines[0]).holders(now) == {"gitlab reconciliation": winner}
    finally:
        for e in engines:
            await e.dispose()
