"""Outbox claims across replicas (SQLite and PostgreSQL, one engine per replica as in two
processes): a claim expires unless renewed, a replica that died mid-send leaves its rows
to the next claimer (which is told to look them up by key), and a stalled replica cannot
mark rows taken over from it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from idlbot.storage.db import create_engine
from idlbot.storage.outbox import TAKEN_OVER, SqlOutbox

T0 = datetime(2024, 10, 1, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=20)
CHANNEL = "c" * 26
Pair = tuple[SqlOutbox, SqlOutbox]


@pytest.fixture
async def pair(db_url: str) -> AsyncIterator[tuple[SqlOutbox, SqlOutbox]]:
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        yield (
            SqlOutbox(engines[0], holder="a", claim_ttl=TTL),
            SqlOutbox(engines[1], holder="b", claim_ttl=TTL),
        )
    finally:
        for e in engines:
            await e.dispose()


async def _enqueue(outbox: SqlOutbox, n: int) -> None:
    for i in range(n):
        await outbox.enqueue(key=f"k{i}", message=f"m{i}", now=T0, channel_id=CHANNEL)


async def test_rows_of_a_dead_replica_are_taken_over_after_the_expiry(
    pair: tuple[SqlOutbox, SqlOutbox],
) -> None:
    a, b = pair
    await _enqueue(a, 3)
    claimed = await a.claim_due(T0)
    assert [i.key for i in claimed] == ["k0", "k1", "k2"]
    # "a" dies here: no mark, no renewal
    assert await b.claim_due(T0 + TTL - timedelta(seconds=1)) == []  # still a's
    taken = await b.claim_due(T0 + TTL)
    assert [(i.key, i.attempts) for i in taken] == [("k0", 2), ("k1", 2), ("k2", 2)]  # > 1: look up by key
    assert await b.claim_due(T0 + TTL) == []  # b's now
    assert await b.mark_sent(taken[0].id, post_id="p" * 26, now=T0 + TTL)


async def test_renewed_claims_are_not_taken_over(pair: Pair) -> None:
    a, b = pair
    await _enqueue(a, 2)
    claimed = await a.claim_due(T0)
    assert await a.renew_claims(T0 + timedelta(seconds=15)) == 2
    assert await b.claim_due(T0 + timedelta(seconds=30)) == []  # renewed until 35 s
    assert len(await b.claim_due(T0 + timedelta(seconds=35))) == 2
    # a stalled past its expiry: its marks change nothing of what b holds now
    assert not await a.mark_sent(claimed[0].id, post_id="p" * 26, now=T0 + timedelta(seconds=36))
    await a.mark_sent_many([(claimed[1].id, "q" * 26)], now=T0 + timedelta(seconds=36))
    assert not await a.mark_retry(claimed[0].id, next_attempt_at=T0, error="x")
    assert await a.renew_claims(T0 + timedelta(seconds=36)) == 0
    counts = await b.count_by_state()
    assert counts["sending"] == 2 and counts["sent"] == 0


async def test_an_earlier_error_does_not_skip_the_lookup_after_a_takeover(
    pair: tuple[SqlOutbox, SqlOutbox],
) -> None:
    """A 429 before the crash said "never reached the server"; the attempt cut off by
    the crash may have, so the row taken over says so instead."""
    a, b = pair
    await _enqueue(a, 1)
    first = (await a.claim_due(T0))[0]
    await a.mark_retry(first.id, next_attempt_at=T0, error="429 too many requests")
    await a.claim_due(T0)  # the attempt cut off by kill -9
    (taken,) = await b.claim_due(T0 + TTL)
    assert taken.last_error == TAKEN_OVER and taken.attempts == 3


async def test_a_start_takes_back_only_rows_nobody_holds(pair: Pair) -> None:
    a, b = pair
    await _enqueue(a, 1)
    await b.enqueue(key="b0", message="x", now=T0, channel_id="d" * 26)
    await a.claim_due(T0)
    legacy = SqlOutbox(a._db)
    await legacy.enqueue(key="old", message="x", now=T0, channel_id="e" * 26)
    await legacy.claim_due(T0)
    # a replica starting while "a" is alive leaves a's row alone, takes the legacy one
    assert await b.recover_inflight(T0 + timedelta(seconds=1), only_expired=True) == 1
    restarted = SqlOutbox(b._db, holder="a", claim_ttl=TTL)
    assert await restarted.recover_inflight(T0 + timedelta(seconds=1), only_expired=True) == 2  # k0, b0


async def test_a_clean_stop_hands_its_claims_over_at_once(pair: Pair) -> None:
    a, b = pair
    await _enqueue(a, 2)
    await b.enqueue(key="theirs", message="x", now=T0, channel_id="d" * 26)
    await b.claim_due(T0)  # b holds all three...
    sent = await b.claim_due(T0)
    assert sent == []
    await a.release_claims(T0)  # ...so a's release changes nothing
    assert (await a.count_by_state())["sending"] == 3
    assert await b.release_claims(T0 + timedelta(seconds=1)) == 3
    taken = await a.claim_due(T0 + timedelta(seconds=1))  # long before b's claims would expire
    assert sorted(i.key for i in taken) == ["k0", "k1", "theirs"] and all(i.attempts == 2 for i in taken)
