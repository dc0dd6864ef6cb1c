"""Read copies (issue 13, `storage/changes.py`): `/idl status` and `/idl deadlines` answer
from copies of a student's ledger and roster entry, and a copy is never older than a write
this process made, nor older than another process's by more than one poll.

"Another process" is a second engine on the same database: it shares nothing in memory
with the first (its own `Changes`), only the database, as a replica or the CLI would.
Both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.util import find_tables

from idlbot.domain.ledger import Student
from idlbot.storage._dialect import transaction
from idlbot.storage.changes import STALE, WATCHED, Changes, ReadCache, changes_of
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.ledger import SqlQualification
from idlbot.storage.ledger_read import _STATEMENT
from idlbot.storage.models_changes import LedgerVersionRow
from idlbot.storage.models_qualification import StudentRow
from idlbot.storage.outbox import SqlOutbox
from idlbot.storage.roster import SqlRoster
from tests.qualification.support import T0, course
from tests.support.statements import counting

Engines = tuple[AsyncEngine, AsyncEngine]


@pytest.fixture
async def two(db_url: str) -> AsyncIterator[Engines]:
    """This process's engine (as the app builds it) and another process's."""
    here, there = create_engine(db_url), create_engine(db_url)
    try:
        yield here, there
    finally:
        await here.dispose()
        await there.dispose()


async def _alice(engine: AsyncEngine) -> SqlQualification:
    await SqlRoster(engine).bulk_upsert([Student("alice", gitlab="alice", group_id="g1")], now=T0)
    return SqlQualification(sessionmaker(engine), course())


async def _version(engine: AsyncEngine) -> int | None:
    async with engine.connect() as conn:
        return (await conn.execute(select(LedgerVersionRow.n))).scalar()


async def test_a_second_ask_reads_nothing_while_the_watch_is_live(two: Engines) -> None:
    here, _ = two
    store = await _alice(here)
    await changes_of(here).poll_once(here)
    first = await store.ledger_for("alice")
    with counting(here) as statements:
        again = await store.ledger_for("@Alice")
        student = await store.student("alice")
        student_again = await store.student("alice")
    assert first is not None and again is first
    assert student is not None and student_again is student and student.group_id == "g1"
    assert len(statements) == 1  # the roster entry's first read; the ledger came from its copy


async def test_without_a_live_watch_every_ask_reads_the_database(two: Engines) -> None:
    here, _ = two
    store = await _alice(here)  # no poll: the CLI and tests without a running bot
    await store.ledger_for("alice")
    with counting(here) as statements:
        await store.ledger_for("alice")
    assert statements


async def test_a_write_of_this_process_shows_at_once(two: Engines) -> None:
    here, _ = two
    store = await _alice(here)
    await changes_of(here).poll_once(here)
    before = await store.ledger_for("alice")
    assert before is not None and not before.hand_ins
    await store.override("alice", "a01", "excused", reason="ill", by="stober", now=T0)
    after = await store.ledger_for("alice")  # no poll in between
    assert after is not None and {h.assignment_id: h.status for h in after.hand_ins}["a01"] == "excused"


async def test_another_process_write_shows_after_one_poll(two: Engines) -> None:
    here, there = two
    store = await _alice(here)
    watch = changes_of(here)
    await watch.poll_once(here)
    assert (await store.student("alice")) is not None
    edited = await SqlRoster(there).bulk_upsert([Student("alice", gitlab="alice", group_id="g2")], now=T0)
    assert edited.updated == 1
    stale = await store.student("alice")
    assert stale is not None and stale.group_id == "g1"  # until the next poll (POLL s in the bot)
    await watch.poll_once(here)
    fresh = await store.student("alice")
    assert fresh is not None and fresh.group_id == "g2"


async def test_the_watch_reads_beside_another_process_mid_write(two: Engines) -> None:
    """Reads never wait for writes: the watch's read of `ledger_version` goes on while
    another process is inside a write transaction (on SQLite it holds the write lock, as
    `idlbot roster import` would), and sees the last committed value. It used to take the
    write lock itself (`BEGIN IMMEDIATE`) and wait up to 10 s."""
    here, there = two
    await _alice(here)
    watch = changes_of(here)
    await watch.poll_once(here)
    epoch = watch.epoch
    async with transaction(there) as conn:
        await conn.execute(update(LedgerVersionRow).values(n=LedgerVersionRow.n + 1))
        await asyncio.wait_for(watch.poll_once(here), timeout=2)
        assert watch.epoch == epoch and watch.live  # the write is not committed yet
    await watch.poll_once(here)
    assert watch.epoch == epoch + 1


async def test_only_writes_to_watched_tables_raise_the_version(two: Engines) -> None:
    here, _ = two
    start = await _version(here)
    await SqlOutbox(sessionmaker(here)).enqueue(key="k", message="m", now=T0, channel_id="c" * 26)
    assert await _version(here) == start
    epoch = changes_of(here).epoch
    await _alice(here)
    assert await _version(here) == (start or 0) + 1
    assert changes_of(here).epoch == epoch + 1


async def test_a_rolled_back_write_leaves_no_mark_on_its_connection(two: Engines) -> None:
    here, _ = two
    await _alice(here)
    start, epoch = await _version(here), changes_of(here).epoch
    with pytest.raises(RuntimeError):
        async with transaction(here) as conn:
            await conn.execute(StudentRow.__table__.update().values(group_id="g3"))  # type: ignore[attr-defined]
            raise RuntimeError("abandoned")
    assert (await _version(here), changes_of(here).epoch) == (start, epoch)
    await SqlOutbox(sessionmaker(here)).enqueue(key="k", message="m", now=T0, channel_id="c" * 26)
    assert (await _version(here), changes_of(here).epoch) == (start, epoch)  # same pooled connection


def test_the_ledger_statement_reads_only_watched_tables() -> None:
    read = {t.name for t in find_tables(_STATEMENT, include_aliases=True) if hasattr(t, "name")}
    read.discard("member")  # the alias of students for team-mates
    assert read and read <= WATCHED, read - WATCHED


class _Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_copies_stop_being_used_when_the_watch_falls_silent(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        clock = _Monotonic()
        watch = Changes(monotonic=clock)
        assert not watch.live
        await watch.poll_once(engine)
        assert watch.live
        clock.now += STALE
        assert not watch.live
    finally:
        await engine.dispose()


async def test_a_copy_read_while_a_write_committed_is_not_kept() -> None:
    clock = _Monotonic()
    watch = Changes(monotonic=clock)
    watch._good_at = clock.now  # live, as after a poll
    cache: ReadCache[str, int] = ReadCache(watch)
    loads = 0

    async def racing() -> int:
        nonlocal loads
        loads += 1
        watch.bump()  # a write committed while this read ran
        return loads

    assert await cache.get("k", racing) == 1
    assert await cache.get("k", racing) == 2  # not kept: read again

    async def calm() -> int:
        return 7

    assert await cache.get("k", calm) == 7
    assert await cache.get("k", racing) == 7  # kept, and true at this epoch


async def test_the_whole_course_is_read_once_between_two_writes(two: Engines) -> None:
    here, there = two
    store = await _alice(here)
    await changes_of(here).poll_once(here)
    first = await store.all_ledgers()
    with counting(here) as reading:
        group = await store.all_ledgers("g1")
    with counting(here) as copied:
        again = await store.all_ledgers()
        group_again = await store.all_ledgers("g1")
    assert [lg.student.mattermost for lg in again] == ["alice"] and again == first and again is not first
    assert group == group_again and reading and not copied
    await SqlRoster(there).bulk_upsert([Student("bob", gitlab="bob", group_id="g1")], now=T0)
    await changes_of(here).poll_once(here)
    assert [lg.student.mattermost for lg in await store.all_ledgers("g1")] == ["alice", "bob"]


async def test_the_routines_view_is_never_behind_the_rows(two: Engines) -> None:
    """Early warnings, the digest and blog nudges decide DMs: they never read a copy that
    another process's write outdated, not even for one poll. They read the version first:
    the copy serves them only while no process wrote since it was made."""
    here, there = two
    store = await _alice(here)
    await changes_of(here).poll_once(here)
    assert [lg.student.group_id for lg in await store.all_ledgers()] == ["g1"]
    await SqlRoster(there).bulk_upsert([Student("alice", gitlab="alice", group_id="g2")], now=T0)
    assert [lg.student.group_id for lg in await store.all_ledgers()] == ["g1"]  # the copy, until the poll
    assert [lg.student.group_id for lg in await store.fresh.all_ledgers()] == ["g2"]
    copy = await store.all_ledgers()  # the poll the routines' read did moved the epoch: a new copy
    with counting(here) as statements:
        again = await store.fresh.all_ledgers()
    assert again == copy and all(a is b for a, b in zip(again, copy, strict=True))
    assert len(statements) == 1 and "ledger_version" in statements[0]  # the version, no ledger row
    await SqlRoster(there).bulk_upsert([Student("alice", gitlab="alice", group_id="g3")], now=T0)
    assert [lg.student.group_id for lg in await store.fresh.all_ledgers()] == ["g3"]


async def test_without_a_watch_the_routines_view_reads_the_rows(two: Engines) -> None:
    """The CLI and one-shot tools run no watch: nothing there uses copies, these included."""
    here, _ = two
    store = await _alice(here)
    assert not changes_of(here).live
    with counting(here) as statements:
        await store.fresh.all_ledgers()
    assert not any("ledger_version" in s for s in statements) and len(statements) > 1
    assert not changes_of(here).live
