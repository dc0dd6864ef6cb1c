"""`SqlRotaStore` on SQLite and PostgreSQL: one writer per class even when two pick at
once, compare-and-set changes, excuses, swap requests, summary pages (earliest kept)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.domain.rota import Pick, SummaryPage, Swap
from idlbot.storage.rota import SqlRotaStore

T0 = datetime(2018, 10, 23, 11, 15, tzinfo=UTC)
DAY = date(2018, 10, 24)


async def test_two_picks_at_once_store_one_writer(engine: AsyncEngine) -> None:
    store, other = SqlRotaStore(engine), SqlRotaStore(engine)
    first, second = await asyncio.gather(
        store.insert_pick(Pick(DAY, "Alice"), now=T0), other.insert_pick(Pick(DAY, "bob"), now=T0)
    )
    assert first == second and first.writer in ("alice", "bob") and first.revision == 1
    assert (await store.picks()) == {DAY: first}


async def test_a_change_needs_the_revision_it_saw(engine: AsyncEngine) -> None:
    store = SqlRotaStore(engine)
    pick = await store.insert_pick(Pick(DAY, "alice"), now=T0)
    changed = await store.change_writer(DAY, "bob", "swapped", revision=pick.revision, now=T0)
    assert changed == Pick(DAY, "bob", "swapped", False, 2)
    assert await store.change_writer(DAY, "carol", "assigned", revision=pick.revision, now=T0) is None
    await store.mark_announced(DAY, now=T0)
    assert (await store.picks())[DAY] == Pick(DAY, "bob", "swapped", True, 2)


async def test_excuses_once_per_student_and_date(engine: AsyncEngine) -> None:
    store = SqlRotaStore(engine)
    assert await store.add_excuse(DAY, "Alice", by="sstober", now=T0)
    assert not await store.add_excuse(DAY, "alice", by="jens", now=T0)
    assert await store.add_excuse(DAY + timedelta(7), "alice", by="jens", now=T0)
    assert await store.excuses() == {DAY: frozenset({"alice"}), DAY + timedelta(7): frozenset({"alice"})}


async def test_a_new_swap_request_cancels_the_pending_one(engine: AsyncEngine) -> None:
    store = SqlRotaStore(engine)
    first = await store.ask_swap(Swap(DAY, "alice", "bob"), now=T0)
    second = await store.ask_swap(Swap(DAY, "alice", "carol"), now=T0)
    assert second != first
    assert await store.pending_swap(DAY) == Swap(DAY, "alice", "carol", "pending", second)
    assert await store.answer_swap(DAY, "bob", "accepted", now=T0) is None  # no longer asked
    answered = await store.answer_swap(DAY, "carol", "accepted", now=T0)
    assert answered == Swap(DAY, "alice", "carol", "accepted", second)
    assert await store.pending_swap(DAY) is None
    assert await store.answer_swap(DAY, "carol", "declined", now=T0) is None


async def test_pages_are_recorded_once_and_keep_the_earliest_creation(engine: AsyncEngine) -> None:
    store = SqlRotaStore(engine)
    page = SummaryPage(DAY, "summaries/2018-10-24", "Alice")
    assert await store.record_page(page, created_at=T0)
    assert not await store.record_page(page, created_at=T0 + timedelta(hours=1))
    assert await store.record_page(
        SummaryPage(DAY, "summaries/2018-10-24", "bob"), created_at=T0 - timedelta(1)
    )
    assert await store.pages() == [SummaryPage(DAY, "summaries/2018-10-24", "bob")]
