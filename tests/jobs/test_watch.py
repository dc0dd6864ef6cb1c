"""The `notify jobs all` path between full polls: squeue every tick, sacct only when a job of a
student on `all` ended untold; arrays are done when slurmctld holds no queued task of them."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.clock import FakeClock
from idlbot.domain.jobs import JobKey
from idlbot.services.job_watch import EndWatch
from idlbot.services.jobs import JobNotifier
from idlbot.storage.jobs import SqlJobStore
from idlbot.storage.outbox import SqlOutbox

from .conftest import T0, FakeCluster, dms, job, make_notifier

NOW = T0 + timedelta(minutes=2)


def test_an_ended_job_of_a_watched_user_is_due_once_told_never_again() -> None:
    watch = EndWatch(fast=2, idle=6)
    ended = job(5, end=NOW - timedelta(seconds=1))
    assert watch.observe([ended, job(6, user="bob")], {"alice"}, NOW) == [ended.key]
    watch.tried(ended.key, told=True, now=NOW)
    assert watch.observe([ended], {"alice"}, NOW + timedelta(seconds=2)) == []
    assert watch.next_tick(NOW) == NOW + timedelta(seconds=6)  # nothing queued: back off


def test_untold_is_chased_with_a_doubling_pause_and_dropped_after_the_horizon() -> None:
    watch = EndWatch(fast=2, idle=6, horizon=timedelta(minutes=1))
    ended = job(5, end=NOW)
    assert watch.observe([ended], {"alice"}, NOW) == [ended.key]
    watch.tried(ended.key, told=False, now=NOW)  # sacct does not show it yet
    assert watch.observe([ended], {"alice"}, NOW + timedelta(seconds=3)) == []
    assert watch.observe([ended], {"alice"}, NOW + timedelta(seconds=4)) == [ended.key]
    watch.tried(ended.key, told=False, now=NOW + timedelta(seconds=4))
    assert watch.observe([ended], {"alice"}, NOW + timedelta(seconds=11)) == []
    assert watch.observe([ended], {"alice"}, NOW + timedelta(seconds=12)) == [ended.key]
    assert watch.next_tick(NOW) == NOW + timedelta(seconds=2)  # chasing: look again soon
    assert watch.observe([ended], {"alice"}, NOW + timedelta(minutes=2)) == []  # the full poll's now


def test_a_running_job_keeps_the_ticks_fast_and_an_array_waits_for_its_last_task() -> None:
    watch = EndWatch(fast=2, idle=6)
    done = job(11, array_job_id=10, array_task_id=0, end=NOW)
    running = job(12, "RUNNING", array_job_id=10, array_task_id=1, end=None)
    assert watch.observe([done, running], {"alice"}, NOW) == []
    assert watch.next_tick(NOW) == NOW + timedelta(seconds=2)
    finished = job(12, array_job_id=10, array_task_id=1, end=NOW + timedelta(seconds=3))
    assert watch.observe([done, finished], {"alice"}, NOW + timedelta(seconds=4)) == [
        JobKey("idl-gpu", 10, T0)
    ]


async def ticked(notifier: JobNotifier, clock: FakeClock, seconds: float) -> None:
    clock.advance(seconds=seconds)
    await notifier.poll(None)


async def test_sacct_is_read_when_a_job_ends_and_not_while_nothing_does(
    fake: FakeCluster, store: SqlJobStore, outbox: SqlOutbox, clock: FakeClock, db: AsyncEngine
) -> None:
    clock.set(NOW)
    notifier = make_notifier(fake, store, outbox, clock)
    await store.set_mode("alice", user_id="mm-alice", mode="all", now=clock.now())
    fake.records = [job(5, "RUNNING", end=None, start=T0)]
    await notifier.poll(None)  # the first call is the full poll
    assert (len(fake.since_calls), fake.queue_calls) == (1, 1)
    await ticked(notifier, clock, 1)  # not due yet (every 2 s while a job runs)
    assert fake.queue_calls == 1
    for _ in range(5):
        await ticked(notifier, clock, 2)
    assert (len(fake.since_calls), fake.queue_calls) == (1, 6)  # squeue only
    fake.records = [job(5, end=clock.now() - timedelta(seconds=1), start=T0)]
    await ticked(notifier, clock, 2)
    assert len(fake.since_calls) == 2 and [u for _, u, _ in await dms(db)] == ["mm-alice"]
    await ticked(notifier, clock, 2)  # nothing queued any more: every 6 s, so not yet
    assert fake.queue_calls == 7
    await ticked(notifier, clock, 4)
    assert (len(fake.since_calls), fake.queue_calls) == (2, 8)
    await ticked(notifier, clock, 60)  # the full poll, on its own timer
    assert len(fake.since_calls) == 3 and len(await dms(db)) == 1


async def test_nobody_on_all_means_no_squeue_between_full_polls(
    fake: FakeCluster, notifier: JobNotifier, clock: FakeClock
) -> None:
    await notifier.poll(None)
    for _ in range(10):
        await ticked(notifier, clock, 2)
    assert (fake.queue_calls, len(fake.since_calls)) == (0, 0)


async def test_an_array_is_told_when_squeue_holds_no_queued_task_and_sacct_knows_them_all(
    fake: FakeCluster, store: SqlJobStore, outbox: SqlOutbox, clock: FakeClock, db: AsyncEngine
) -> None:
    end = T0 + timedelta(seconds=70)
    clock.set(end + timedelta(seconds=1))  # well inside the old 30 s settling time
    notifier = make_notifier(fake, store, outbox, clock)
    await store.set_mode("alice", user_id="mm-alice", mode="all", now=clock.now())
    tasks = [job(10 + i, array_job_id=10, array_task_id=i, end=end) for i in range(3)]
    fake.records = [*tasks[:2], job(12, "RUNNING", array_job_id=10, array_task_id=2, end=None)]
    await notifier.poll(None)
    assert await dms(db) == []  # task 2 still runs
    fake.records = tasks[:2]  # squeue's task 2 ended, but sacct does not show it yet
    queue = [*tasks[:2], tasks[2]]
    assert await notifier.reconcile(queue=queue, events=False) == 0
    fake.records = tasks
    assert await notifier.reconcile(queue=queue, events=False) == 1
    ((_, user, text),) = await dms(db)
    assert user == "mm-alice" and "3 tasks (3 COMPLETED)" in text


async def test_squeue_failing_pauses_the_watch_and_sacct_failing_backs_off(
    fake: FakeCluster, store: SqlJobStore, outbox: SqlOutbox, clock: FakeClock, db: AsyncEngine
) -> None:
    from idlbot.domain.jobs import ClusterError

    clock.set(NOW)
    notifier = make_notifier(fake, store, outbox, clock)
    await store.set_mode("alice", user_id="mm-alice", mode="all", now=clock.now())
    await notifier.poll(None)
    real_queued, real_since = fake.queued, fake.jobs_ended_since

    async def down(*_: object) -> list[object]:
        raise ClusterError("squeue did not answer within 20 s")

    fake.queued = down  # type: ignore[assignment,method-assign]
    await ticked(notifier, clock, 6)  # fails once, then waits for the full poll
    fake.queued = real_queued  # type: ignore[method-assign]
    before = fake.queue_calls
    for _ in range(20):
        await ticked(notifier, clock, 2)
    assert fake.queue_calls == before  # 40 s: no tick until the full poll at 60 s
    await ticked(notifier, clock, 20)
    assert fake.queue_calls == before + 1

    fake.records = [job(5, end=clock.now() - timedelta(seconds=1))]
    sacct_reads = []

    async def db_down(when: object) -> list[object]:
        sacct_reads.append(clock.now())
        raise ClusterError("sacct failed (rc 1): slurmdbd is not responding")

    fake.jobs_ended_since = db_down  # type: ignore[assignment,method-assign]
    for _ in range(15):  # 30 s of ticks while slurmdbd is down and slurmctld is not
        await ticked(notifier, clock, 2)
    gaps = [(b - a).total_seconds() for a, b in pairwise(sacct_reads)]
    assert gaps[:2] == [4, 8] and len(sacct_reads) <= 4 and await dms(db) == []  # doubling, not per tick
    fake.jobs_ended_since = real_since  # type: ignore[method-assign]
    for _ in range(40):
        await ticked(notifier, clock, 2)
    assert [u for _, u, _ in await dms(db)] == ["mm-alice"]
