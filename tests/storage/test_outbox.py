"""SqlOutbox on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.outbox import OutboxItem, SqlOutbox

T0 = datetime(2024, 10, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def outbox(engine: AsyncEngine) -> SqlOutbox:
    return SqlOutbox(sessionmaker(engine))  # as the app builds it; the concurrency tests use engines


async def test_enqueue_and_get(outbox: SqlOutbox) -> None:
    assert await outbox.enqueue(
        key="k1", message="hi", now=T0, channel_id="c" * 26, props={"attachments": [1]}, root_id="r" * 26
    )
    item = await outbox.get("k1")
    assert item is not None
    assert item == OutboxItem(
        id=item.id,
        key="k1",
        channel_id="c" * 26,
        dm_user_id=None,
        message="hi",
        props={"attachments": [1]},
        root_id="r" * 26,
        state="pending",
        attempts=0,
        next_attempt_at=T0,
        created_at=T0,
        post_id=None,
        last_error=None,
    )
    assert item.created_at.tzinfo is UTC
    assert await outbox.get("nope") is None


async def test_enqueue_dedups_by_key(outbox: SqlOutbox) -> None:
    assert await outbox.enqueue(key="k", message="first", now=T0, dm_user_id="u" * 26)
    assert not await outbox.enqueue(key="k", message="second", now=T0 + timedelta(hours=1), channel_id="c")
    item = await outbox.get("k")
    assert item is not None
    assert (item.message, item.dm_user_id, item.channel_id, item.created_at) == ("first", "u" * 26, None, T0)
    assert await outbox.count_by_state() == {"pending": 1, "sending": 0, "sent": 0, "failed": 0}


async def test_enqueue_needs_exactly_one_target(outbox: SqlOutbox, engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        await outbox.enqueue(key="a", message="m", now=T0)
    with pytest.raises(ValueError, match="exactly one"):
        await outbox.enqueue(key="b", message="m", now=T0, channel_id="c", dm_user_id="u")
    # The CHECK constraint backs it up for writers that bypass the repository.
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO outbox (key, message, props, state, attempts, next_attempt_at, created_at)"
                    " VALUES ('raw', 'm', '{}', 'pending', 0, :t, :t)"
                ),
                {"t": T0.replace(tzinfo=None)},
            )


async def test_naive_datetimes_are_rejected(outbox: SqlOutbox) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        await outbox.enqueue(key="k", message="m", now=T0.replace(tzinfo=None), channel_id="c")


async def test_non_utc_input_is_normalised(outbox: SqlOutbox) -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2024, 10, 1, 11, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # 09:00 UTC
    await outbox.enqueue(key="k", message="m", now=local, channel_id="c")
    item = await outbox.get("k")
    assert item is not None and item.created_at == T0 and item.created_at.tzinfo is UTC
    assert [i.key for i in await outbox.claim_due(T0)] == ["k"]  # compares as instants


async def test_claim_due_respects_next_attempt_at(outbox: SqlOutbox) -> None:
    for i in range(3):
        await outbox.enqueue(key=f"k{i}", message="m", now=T0 + timedelta(minutes=i), channel_id=f"c{i}")
    assert await outbox.claim_due(T0 - timedelta(seconds=1)) == []
    claimed = await outbox.claim_due(T0 + timedelta(minutes=1))
    assert [(i.key, i.state, i.attempts) for i in claimed] == [("k0", "sending", 1), ("k1", "sending", 1)]
    assert await outbox.claim_due(T0 + timedelta(minutes=1)) == []  # already sending
    later = await outbox.claim_due(T0 + timedelta(hours=1), limit=10)
    assert [i.key for i in later] == ["k2"]


async def test_claim_due_limit_and_order(outbox: SqlOutbox) -> None:
    for i in range(5):
        await outbox.enqueue(key=f"k{i}", message="m", now=T0, channel_id=f"c{i}")
    first = await outbox.claim_due(T0, limit=2)
    second = await outbox.claim_due(T0, limit=2)
    assert [i.key for i in first] == ["k0", "k1"]
    assert [i.key for i in second] == ["k2", "k3"]


async def test_mark_sent(outbox: SqlOutbox) -> None:
    await outbox.enqueue(key="k", message="m", now=T0, channel_id="c")
    (item,) = await outbox.claim_due(T0)
    assert await outbox.mark_sent(item.id, post_id="p" * 26, now=T0 + timedelta(seconds=1))
    got = await outbox.get("k")
    assert got is not None and (got.state, got.post_id) == ("sent", "p" * 26)
    assert await outbox.claim_due(T0 + timedelta(days=1)) == []
    assert not await outbox.mark_sent(item.id, post_id="x", now=T0)  # not in flight any more


async def test_mark_retry_then_failed(outbox: SqlOutbox) -> None:
    await outbox.enqueue(key="k", message="m", now=T0, channel_id="c")
    (item,) = await outbox.claim_due(T0)
    retry_at = T0 + timedelta(minutes=5)
    assert await outbox.mark_retry(item.id, next_attempt_at=retry_at, error="502 Bad Gateway")
    got = await outbox.get("k")
    assert got is not None
    assert (got.state, got.attempts, got.next_attempt_at, got.last_error) == (
        "pending",
        1,
        retry_at,
        "502 Bad Gateway",
    )
    assert await outbox.claim_due(retry_at - timedelta(seconds=1)) == []
    (again,) = await outbox.claim_due(retry_at)
    assert again.attempts == 2
    assert await outbox.mark_failed(again.id, error="403 channel archived")
    got = await outbox.get("k")
    assert got is not None and (got.state, got.last_error) == ("failed", "403 channel archived")
    assert await outbox.claim_due(retry_at + timedelta(days=1)) == []
    assert not await outbox.mark_retry(again.id, next_attempt_at=retry_at, error="x")


async def test_recover_inflight(outbox: SqlOutbox) -> None:
    for i in range(3):
        await outbox.enqueue(key=f"k{i}", message="m", now=T0, channel_id="c")
    claimed = await outbox.claim_due(T0, limit=2)
    restart = T0 + timedelta(minutes=10)
    assert await outbox.recover_inflight(restart) == 2
    assert await outbox.recover_inflight(restart) == 0
    assert (await outbox.count_by_state())["sending"] == 0
    again = await outbox.claim_due(restart)
    assert {i.key: i.attempts for i in again} == {"k0": 2, "k1": 2, "k2": 1}
    assert {i.key for i in claimed} == {"k0", "k1"}


async def test_recover_inflight_claimed_before(outbox: SqlOutbox) -> None:
    await outbox.enqueue(key="old", message="m", now=T0, channel_id="c")
    await outbox.claim_due(T0)
    await outbox.enqueue(key="new", message="m", now=T0, channel_id="c2")
    await outbox.claim_due(T0 + timedelta(minutes=5))
    recovered = await outbox.recover_inflight(
        T0 + timedelta(minutes=6), claimed_before=T0 + timedelta(minutes=1)
    )
    assert recovered == 1
    old, new = await outbox.get("old"), await outbox.get("new")
    assert old is not None and new is not None
    assert (old.state, new.state) == ("pending", "sending")


async def test_backlog_errors_and_counts(outbox: SqlOutbox) -> None:
    assert await outbox.backlog() == (0, None)
    assert await outbox.recent_errors() == []
    for i in range(4):
        await outbox.enqueue(key=f"k{i}", message="m", now=T0 + timedelta(minutes=i), channel_id="c")
    a, b, c = await outbox.claim_due(T0 + timedelta(minutes=2))
    await outbox.mark_sent(a.id, post_id="p", now=T0)
    await outbox.mark_retry(b.id, next_attempt_at=T0 + timedelta(hours=1), error="timeout")
    await outbox.mark_failed(c.id, error="rejected")
    assert await outbox.backlog() == (2, T0 + timedelta(minutes=1))  # k1 pending, k3 pending
    assert await outbox.count_by_state() == {"pending": 2, "sending": 0, "sent": 1, "failed": 1}
    errors = await outbox.recent_errors()
    assert sorted(errors) == [("k1", "timeout"), ("k2", "rejected")]
    assert len(await outbox.recent_errors(limit=1)) == 1


async def test_recent_errors_newest_attempt_first(outbox: SqlOutbox) -> None:
    for i in range(3):
        await outbox.enqueue(key=f"k{i}", message="m", now=T0, channel_id="c")
    for i, item in enumerate(await outbox.claim_due(T0)):
        await outbox.mark_retry(item.id, next_attempt_at=T0, error=f"e{i}")
    (k0,) = [i for i in await outbox.claim_due(T0 + timedelta(minutes=1), limit=1)]
    await outbox.mark_retry(k0.id, next_attempt_at=T0, error="e0-again")
    assert await outbox.recent_errors() == [("k0", "e0-again"), ("k2", "e2"), ("k1", "e1")]


async def test_posts_to_one_target_keep_their_order(outbox: SqlOutbox) -> None:
    """A row waits while an earlier row of the same channel or DM is in flight or
    backing off, so a retried post is never overtaken by the one after it."""
    for i in range(3):
        await outbox.enqueue(key=f"c{i}", message="m", now=T0, channel_id="chan")
    await outbox.enqueue(key="dm0", message="m", now=T0, dm_user_id="u1")
    await outbox.enqueue(key="dm1", message="m", now=T0, dm_user_id="u1")
    await outbox.enqueue(key="other", message="m", now=T0, channel_id="other")
    first = await outbox.claim_due(T0, limit=2)
    assert [i.key for i in first] == ["c0", "c1"]
    # c0 and c1 are in flight: c2 waits, the DM and the other channel do not
    assert [i.key for i in await outbox.claim_due(T0)] == ["dm0", "dm1", "other"]
    c0, c1 = first
    await outbox.mark_retry(c0.id, next_attempt_at=T0 + timedelta(minutes=1), error="503")
    await outbox.mark_sent(c1.id, post_id="p", now=T0)
    assert await outbox.claim_due(T0) == []  # c2 waits for c0's retry
    assert [i.key for i in await outbox.claim_due(T0 + timedelta(minutes=1))] == ["c0", "c2"]


async def test_concurrent_claimers_never_share_a_row(db_url: str, outbox: SqlOutbox) -> None:
    for i in range(100):
        await outbox.enqueue(key=f"k{i:03}", message="m", now=T0, channel_id=f"c{i}")
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        boxes = [SqlOutbox(e) for e in engines]

        async def claimer(box: SqlOutbox) -> list[int]:
            got: list[int] = []
            while batch := await box.claim_due(T0, limit=3):
                assert len(batch) <= 3
                got.extend(i.id for i in batch)
                await asyncio.sleep(0)
            return got

        results = await asyncio.gather(*(claimer(boxes[n % 2]) for n in range(8)))
    finally:
        for e in engines:
            await e.dispose()
    flat = [i for r in results for i in r]
    assert len(flat) == 100
    assert len(set(flat)) == 100
    assert sum(1 for r in results if r) >= 2  # the claimers really did interleave
    assert await outbox.count_by_state() == {"pending": 0, "sending": 100, "sent": 0, "failed": 0}


async def test_postgres_claim_skips_rows_locked_by_another_transaction(postgres_db_url: str) -> None:
    engine, other = create_engine(postgres_db_url), create_engine(postgres_db_url)
    outbox = SqlOutbox(engine)
    try:
        for i in range(4):
            await outbox.enqueue(key=f"k{i}", message="m", now=T0, channel_id="c")
        async with other.begin() as conn:
            await conn.execute(text("SELECT id FROM outbox WHERE key IN ('k0', 'k1') FOR UPDATE"))
            # Without SKIP LOCKED this would block until the other transaction ends.
            claimed = await asyncio.wait_for(outbox.claim_due(T0), timeout=5)
            assert [i.key for i in claimed] == ["k2", "k3"]
        assert [i.key for i in await outbox.claim_due(T0)] == ["k0", "k1"]
    finally:
        await engine.dispose()
        await other.dispose()


async def test_reschedule_now(outbox: SqlOutbox) -> None:
    for i in range(3):
        await outbox.enqueue(key=f"k{i}", message="m", now=T0, channel_id="c")
    a, b, _in_flight = await outbox.claim_due(T0)
    await outbox.mark_retry(a.id, next_attempt_at=T0 + timedelta(minutes=30), error="down")
    await outbox.mark_retry(b.id, next_attempt_at=T0 + timedelta(minutes=1), error="down")
    reconnect = T0 + timedelta(minutes=2)  # b is already due, a waits on its backoff, c is in flight
    assert await outbox.reschedule_now(reconnect) == 1
    assert [i.key for i in await outbox.claim_due(reconnect)] == ["k0", "k1"]
    item = await outbox.get("k2")
    assert item is not None and item.state == "sending"


async def test_mark_sent_many_marks_a_batch_in_flight_only(outbox: SqlOutbox) -> None:
    for i in range(3):
        await outbox.enqueue(key=f"k{i}", message="m", now=T0, channel_id=f"c{i}")
    a, b, c = await outbox.claim_due(T0)
    await outbox.mark_failed(c.id, error="rejected")
    await outbox.mark_sent_many([(a.id, "p" * 26), (b.id, "q" * 26), (c.id, "r" * 26)], now=T0)
    states = {k: (await outbox.get(k)) for k in ("k0", "k1", "k2")}
    assert [(s.state, s.post_id) for s in states.values() if s] == [
        ("sent", "p" * 26),
        ("sent", "q" * 26),
        ("failed", None),
    ]
    await outbox.mark_sent_many([], now=T0)


async def test_enqueue_dms_is_one_batch_and_keeps_existing_keys(outbox: SqlOutbox) -> None:
    await outbox.enqueue(key="n:u1", message="earlier", now=T0, dm_user_id="u1")
    await outbox.enqueue_dms(items=[("n:u1", "u1"), ("n:u2", "u2"), ("n:u3", "u3")], message="nudge", now=T0)
    await outbox.enqueue_dms(items=[("n:u2", "u2")], message="again", now=T0)
    got = {k: await outbox.get(k) for k in ("n:u1", "n:u2", "n:u3")}
    assert {k: (v.message, v.dm_user_id) for k, v in got.items() if v} == {
        "n:u1": ("earlier", "u1"),
        "n:u2": ("nudge", "u2"),
        "n:u3": ("nudge", "u3"),
    }
    await outbox.enqueue_dms(items=[], message="none", now=T0)
