"""SqlDeliveryKeys on SQLite and PostgreSQL: once per scope, exactly one winner, pruning."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.deliveries import SqlDeliveryKeys

T0 = datetime(2018, 10, 22, 9, 0, tzinfo=UTC)


async def test_seen_once_per_scope(engine: AsyncEngine) -> None:
    keys = SqlDeliveryKeys(sessionmaker(engine))
    assert not await keys.seen("gitlab:ledger", "uuid-1", T0)
    assert await keys.seen("gitlab:ledger", "uuid-1", T0 + timedelta(seconds=1))
    assert not await keys.seen("gitlab:agenda", "uuid-1", T0)  # another path, its own claim
    assert await keys.seen("gitlab:agenda", "uuid-1", T0)


async def test_concurrent_claims_exactly_one_wins(db_url: str) -> None:
    """Two engines stand for two bot processes; twenty callers race for each key."""
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        stores = [SqlDeliveryKeys(e) for e in engines]
        for key in ("k1", "k2", "k3"):
            results = await asyncio.gather(*(stores[n % 2].seen("gitlab:ledger", key, T0) for n in range(20)))
            assert results.count(False) == 1, (key, results)
    finally:
        for e in engines:
            await e.dispose()


async def test_prune_forgets_old_keys_in_every_scope(engine: AsyncEngine) -> None:
    keys = SqlDeliveryKeys(engine)
    await keys.seen("gitlab:ledger", "old", T0)
    await keys.seen("gitlab:agenda", "old", T0)
    await keys.seen("gitlab:agenda", "new", T0 + timedelta(days=10))
    assert await keys.prune(T0 + timedelta(days=1)) == 2
    assert await keys.prune(T0 + timedelta(days=1)) == 0
    assert not await keys.seen("gitlab:ledger", "old", T0 + timedelta(days=11))  # a new delivery now
    assert await keys.seen("gitlab:agenda", "new", T0 + timedelta(days=11))


async def test_an_overlong_key_is_cut_not_refused(engine: AsyncEngine) -> None:
    keys = SqlDeliveryKeys(engine)
    long = "x" * 300
    assert not await keys.seen("gitlab:ledger", long, T0)
    assert await keys.seen("gitlab:ledger", long, T0)
