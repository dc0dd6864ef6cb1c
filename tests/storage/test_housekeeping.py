"""Housekeeping.prune on a FakeClock: handled posts and delivery keys older than the
retention go, younger ones stay and still deduplicate."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.clock import FakeClock
from idlbot.services.housekeeping import RETENTION, Housekeeping, Pruned
from idlbot.storage.deliveries import SqlDeliveryKeys
from idlbot.storage.handled import SqlHandledPosts

T0 = datetime(2018, 10, 1, 9, 0, tzinfo=UTC)


async def test_prune_keeps_the_retention_window(engine: AsyncEngine) -> None:
    clock = FakeClock(T0)
    posts, keys = SqlHandledPosts(engine), SqlDeliveryKeys(engine)
    housekeeping = Housekeeping(handled_posts=posts, delivery_keys=keys)
    await posts.claim("p-old", "c", clock.now())
    await keys.seen("gitlab:ledger", "k-old", clock.now())
    await keys.seen("gitlab:agenda", "k-old", clock.now())
    clock.advance(days=10)
    await posts.claim("p-new", "c", clock.now())
    await keys.seen("gitlab:agenda", "k-new", clock.now())

    clock.set(T0 + RETENTION)  # p-old is exactly as old as the retention: kept
    assert await housekeeping.prune(clock.now()) == Pruned(handled_posts=0, delivery_keys=0)
    clock.advance(seconds=1)
    assert await housekeeping.prune(clock.now()) == Pruned(handled_posts=1, delivery_keys=2)
    assert await housekeeping.prune(clock.now()) == Pruned(handled_posts=0, delivery_keys=0)

    assert not await posts.is_handled("p-old") and await posts.is_handled("p-new")
    assert await keys.seen("gitlab:agenda", "k-new", clock.now())  # still a duplicate
    assert not await keys.seen("gitlab:ledger", "k-old", clock.now())  # forgotten: new again

    clock.advance(RETENTION)  # p-new and k-new go; k-old, claimed again just now, is exactly at the edge
    assert await housekeeping.prune(clock.now()) == Pruned(handled_posts=1, delivery_keys=1)
