"""JobNotifier on fake inputs: enrichment retry, outcome by state, arrays, restarts."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.clock import FakeClock
from idlbot.domain.jobs import ExitCode, JobKey, JobRecord
from idlbot.services.jobs import JobNotifier, outbox_key
from idlbot.storage.jobs import SqlJobStore
from idlbot.storage.outbox import SqlOutbox

from .conftest import T0, FakeCluster, dms, event, job, job_event, make_notifier


async def test_event_is_enriched_after_sacct_lags_and_dm_is_keyed_on_submit(
    notifier: JobNotifier, fake: FakeCluster, db: AsyncEngine
) -> None:
    fake.records = [job(5, "FAILED", exit_code=ExitCode(3, 0))]
    fake.lag = 2  # slurmdbd has not written the record when the mail arrives
    assert await notifier.accept(job_event(5))
    await notifier.idle()
    ((key, user, text),) = await dms(db)
    assert key == f"job:idl-gpu:5:{int(T0.timestamp())}" == outbox_key(JobKey("idl-gpu", 5, T0))
    assert user == "mm-alice"
    assert "Job **5** “j5” on idl-gpu failed (exit code 3)" in text and "with 1 GPU" in text
    assert fake.group_calls == 3


async def test_outcome_comes_from_the_state_not_the_exit_code(
    notifier: JobNotifier, fake: FakeCluster, db: AsyncEngine
) -> None:
    """TIMEOUT with 0:15 and FAILED with 0:0 (Slurm's sources disagree on exit codes)."""
    fake.records = [
        job(6, "TIMEOUT", exit_code=ExitCode(0, 15), time_limit=timedelta(minutes=1)),
        job(7, "FAILED", exit_code=ExitCode(0, 0)),
        job(8, "COMPLETED", exit_code=ExitCode(1, 0), array_job_id=None),
    ]
    for job_id in (6, 7, 8):
        await notifier.accept(job_event(job_id))
    await notifier.idle()
    # by job: the three are notified concurrently, so their rows may be queued in any order
    texts = [text for _, _, text in sorted(await dms(db), key=lambda row: row[2].split("**")[1])]
    assert "hit its time limit (signal 15) with 1 GPU; it ran 1 min 05 s, all of its 1 min limit," in texts[0]
    assert " failed" in texts[1]
    assert " completed" in texts[2]


async def test_duplicate_event_and_second_mail_for_the_same_job_send_one_dm(
    notifier: JobNotifier, fake: FakeCluster, db: AsyncEngine
) -> None:
    fake.records = [job(9)]
    assert await notifier.accept(job_event(9, "a"))
    assert not await notifier.accept(job_event(9, "a"))  # MailProg --flush resent it
    assert await notifier.accept(job_event(9, "b"))  # END and FAIL mail for one job
    await notifier.idle()
    assert len(await dms(db)) == 1


async def test_restarted_job_ids_are_different_jobs(
    notifier: JobNotifier, fake: FakeCluster, db: AsyncEngine
) -> None:
    fake.records = [job(1)]
    await notifier.accept(job_event(1, "first"))
    await notifier.idle()
    fake.records = [job(1, submit=T0 + timedelta(days=3))]  # state wiped: ids start at 1 again
    await notifier.accept(job_event(1, "second"))
    await notifier.idle()
    assert len({key for key, _, _ in await dms(db)}) == 2


async def test_array_waits_for_every_task_then_sends_one_dm_with_counts(
    notifier: JobNotifier, fake: FakeCluster, db: AsyncEngine, store: SqlJobStore
) -> None:
    tasks = [job(100 + i, "COMPLETED", array_job_id=100, array_task_id=i) for i in range(4)]
    tasks[2] = replace(tasks[2], state="FAILED", exit_code=ExitCode(1, 0))
    tasks[3] = replace(tasks[3], state="RUNNING", end=None)
    fake.records = tasks
    await notifier.accept(job_event(100, env={"SLURM_ARRAY_JOB_ID": "100", "SLURM_JOB_ID": "103"}))
    await notifier.idle()
    assert await dms(db) == []  # a task still runs: the event stays pending
    assert [e[0] for e in await store.pending_events()] == ["ev-100"]
    fake.records[3] = replace(tasks[3], state="CANCELLED", end=T0 + timedelta(minutes=1))
    await notifier.reconcile()
    ((key, _, text),) = await dms(db)
    assert key.startswith("job:idl-gpu:100:")
    assert "4 tasks (1 CANCELLED, 2 COMPLETED, 1 FAILED)" in text and "tasks 2, 3" in text
    assert await store.pending_events() == []


async def test_opted_out_and_unknown_users_get_nothing(
    notifier: JobNotifier, fake: FakeCluster, db: AsyncEngine, store: SqlJobStore, clock: FakeClock
) -> None:
    fake.records = [job(11, user="carol"), job(12, user="bob")]
    await store.set_mode("bob", user_id="mm-bob", mode="off", now=clock.now())
    await notifier.accept(job_event(11))
    await notifier.accept(job_event(12))
    await notifier.idle()
    assert await dms(db) == []
    assert await store.pending_events() == []  # handled: told nobody, on purpose


async def test_jobs_ended_while_down_are_reported_once_after_restart(
    fake: FakeCluster, store: SqlJobStore, outbox: SqlOutbox, clock: FakeClock, db: AsyncEngine
) -> None:
    """Acceptance: 20 jobs finish while the bot is down; after a restart all 20, none twice."""
    await store.set_mode("alice", user_id="mm-alice", mode="all", now=clock.now())
    first = make_notifier(fake, store, outbox, clock)
    assert await first.reconcile() == 0  # sets the cursor
    clock.advance(timedelta(minutes=30))  # the bot is down; 20 jobs end meanwhile
    fake.records = [
        job(200 + i, "FAILED" if i % 5 == 0 else "COMPLETED", submit=clock.now() - timedelta(minutes=20),
            end=clock.now() - timedelta(minutes=20 - i))
        for i in range(20)
    ]  # fmt: skip
    fake.records.append(job(300, user="bob", end=clock.now() - timedelta(minutes=3)))  # bob: mail mode
    restarted = make_notifier(fake, store, outbox, clock)
    assert await restarted.reconcile() == 20
    assert fake.since_calls[-1] == T0 + timedelta(minutes=2) - timedelta(minutes=5)  # cursor - margin
    assert await restarted.reconcile() == 0
    again = make_notifier(fake, store, outbox, clock)
    assert await again.reconcile() == 0
    rows = await dms(db)
    assert len(rows) == 20 and len({k for k, _, _ in rows}) == 20
    assert {u for _, u, _ in rows} == {"mm-alice"}


async def test_poll_and_mail_racing_for_one_job_send_one_dm(
    notifier: JobNotifier, fake: FakeCluster, store: SqlJobStore, clock: FakeClock, db: AsyncEngine
) -> None:
    await store.set_mode("alice", user_id="mm-alice", mode="all", now=clock.now())
    fake.records = [job(40, end=clock.now())]
    await notifier.accept(job_event(40))
    await notifier.reconcile()
    await notifier.idle()
    assert len(await dms(db)) == 1


async def test_event_given_up_after_max_attempts(
    fake: FakeCluster, store: SqlJobStore, outbox: SqlOutbox, clock: FakeClock
) -> None:
    notifier = make_notifier(fake, store, outbox, clock)
    notifier._max_attempts = 2
    await notifier.accept(job_event(77))  # sacct never knows job 77
    await notifier.idle()
    assert len(await store.pending_events()) == 1
    await notifier.reconcile()
    assert await store.pending_events() == []


async def test_ingest_spool_accepts_and_removes_files(
    notifier: JobNotifier, fake: FakeCluster, db: AsyncEngine, tmp_path: object
) -> None:
    import json
    from pathlib import Path

    spool = Path(str(tmp_path)) / "spool"
    spool.mkdir()
    fake.records = [job(50)]
    (spool / "0001-a.json").write_text(json.dumps(event(50, "s1")))
    (spool / "0002-b.json").write_text("{half")
    assert await notifier.ingest_spool(spool) == 1
    await notifier.idle()
    assert len(await dms(db)) == 1
    assert sorted(p.name for p in spool.iterdir()) == ["0002-b.json"]


async def test_an_event_stored_by_the_previous_bot_is_still_handled(
    notifier: JobNotifier, fake: FakeCluster, store: SqlJobStore, clock: FakeClock, db: AsyncEngine
) -> None:
    """The stored payload is the event object as it came (with the route's `sent_at`), so an
    event left pending before an upgrade is parsed again by the reconciliation."""
    fake.records = [job(60)]
    payload = {**event(60, "old-1"), "sent_at": 1796155871}
    assert await store.record_event(
        event_id="old-1", cluster="idl-gpu", job_id=60, payload=payload, now=clock.now()
    )
    await notifier.reconcile()
    ((key, user, _),) = await dms(db)
    assert key.startswith("job:idl-gpu:60:") and user == "mm-alice"
    assert await store.pending_events() == []


async def test_a_stored_event_that_does_not_parse_is_closed_not_retried(
    notifier: JobNotifier, store: SqlJobStore, clock: FakeClock, db: AsyncEngine
) -> None:
    await store.record_event(
        event_id="bad", cluster="idl-gpu", job_id=0, payload={"id": "bad"}, now=clock.now()
    )
    await notifier.reconcile()
    assert await store.pending_events() == [] and await dms(db) == []


async def test_reconcile_leaves_an_event_to_the_push_path_while_it_runs(
    fake: FakeCluster, store: SqlJobStore, outbox: SqlOutbox, clock: FakeClock, db: AsyncEngine
) -> None:
    """The poll must not handle an event a second time while its push-path task is still
    waiting for sacct: the in-flight check is by event id in the notifier's TaskPool."""
    import asyncio

    release = asyncio.Event()
    reached = asyncio.Event()

    class SlowCluster(FakeCluster):
        async def job_group(self, job_id: int) -> list[JobRecord]:
            reached.set()
            await release.wait()
            return await super().job_group(job_id)

    slow = SlowCluster(records=[job(60)])
    notifier = make_notifier(slow, store, outbox, clock)
    assert await notifier.accept(job_event(60))
    await reached.wait()
    async with asyncio.timeout(5):  # were it to handle ev-60 again, it would block here
        await notifier.reconcile()  # finds ev-60 pending, but in flight: leaves it alone
    assert slow.group_calls == 0  # only the push path's call, still blocked, has begun
    release.set()
    await notifier.idle()
    assert slow.group_calls == 1
    assert len(await dms(db)) == 1
    assert await store.pending_events() == []


async def test_a_job_dm_names_the_courses_only_of_a_student_in_several(
    fake: FakeCluster, store: SqlJobStore, outbox: SqlOutbox, clock: FakeClock, db: AsyncEngine
) -> None:
    """The cluster is shared by a deployment's courses and a job does not say which course
    it is for: a student in several is told which courses share it; one in one course is not."""

    async def courses(cluster_user: str) -> list[str]:
        return ["IDL", "NLP [@all](x)"] if cluster_user == "alice" else ["IDL"]

    notifier = make_notifier(fake, store, outbox, clock, label=courses)
    fake.records = [job(5), job(6, user="bob")]
    for job_id in (5, 6):
        await notifier.accept(job_event(job_id))
    await notifier.idle()
    texts = {user: text for _, user, text in await dms(db)}
    assert (
        texts["mm-alice"].startswith("**IDL · NLP") and "(a shared cluster) · Job **5**" in texts["mm-alice"]
    )
    assert "@all" not in texts["mm-alice"].replace("@\u200ball", "")
    assert texts["mm-bob"].startswith("Job **6**")
