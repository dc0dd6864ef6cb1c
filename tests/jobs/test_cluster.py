"""Against the real single-node Slurm (tests/slurm's fixture): sbatch jobs end, slurmctld runs
the MailProg wrapper, which POSTs to our route on 127.0.0.1, and the DM rows appear (issue 6)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.adapters.slurm.cluster import SlurmCluster
from idlbot.clock import SystemClock
from idlbot.services.jobs import JobNotifier
from idlbot.storage.jobs import SqlJobStore
from idlbot.storage.models import OutboxRow
from idlbot.storage.outbox import SqlOutbox
from tests.slurm.conftest import Cluster, sbatch, wait_until

from .conftest import UTC_TZ, resolve
from .support import MAIL, point_mailprog, serve


@dataclass
class Live:
    notifier: JobNotifier
    store: SqlJobStore
    outbox: SqlOutbox
    db: AsyncEngine
    cluster: SlurmCluster
    spool: Path
    slurm: Cluster


def notifier_for(cluster: SlurmCluster, name: str, store: SqlJobStore, outbox: SqlOutbox) -> JobNotifier:
    return JobNotifier(
        cluster=cluster, cluster_name=name, store=store, outbox=outbox, resolve=resolve,
        clock=SystemClock(), tz=UTC_TZ, first_lookback=timedelta(minutes=10),
    )  # fmt: skip


@pytest.fixture
async def live(slurm_up: Cluster, cluster: SlurmCluster, db: AsyncEngine) -> AsyncIterator[Live]:
    store, outbox = SqlJobStore(db), SqlOutbox(db)
    notifier = notifier_for(cluster, slurm_up.name, store, outbox)
    async with serve(notifier) as url:
        spool = point_mailprog(slurm_up, url)
        yield Live(notifier, store, outbox, db, cluster, spool, slurm_up)
        await notifier.stop()


async def rows_for(db: AsyncEngine, name: str, job_id: int) -> list[tuple[str, str | None, str, object]]:
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                select(OutboxRow.key, OutboxRow.dm_user_id, OutboxRow.message, OutboxRow.created_at).where(
                    OutboxRow.key.like(f"job:{name}:{job_id}:%")
                )
            )
        ).all()
    return [(r.key, r.dm_user_id, r.message, r.created_at) for r in rows]


async def dm_for(live: Live, job_id: int, timeout: float) -> tuple[str, str | None, str, object]:
    async def check() -> bool:
        return bool(await rows_for(live.db, live.slurm.name, job_id))

    await wait_until(check, timeout, f"the DM for job {job_id}")
    (row,) = await rows_for(live.db, live.slurm.name, job_id)
    return row


async def ended_at(cluster: SlurmCluster, job_id: int) -> float:
    record = await cluster.job(job_id)
    assert record is not None and record.end is not None
    return record.end.timestamp()


@pytest.mark.timeout(120)
async def test_real_jobs_end_and_the_right_dm_arrives_within_10_s(live: Live, workdir: Path) -> None:
    failing = await sbatch(live.slurm, workdir, "-J", "f3", *MAIL, "--wrap", "exit 3")
    gpu = await sbatch(live.slurm, workdir, "-J", "gpu1", *MAIL, "--gres=gpu:1", "--wrap", "sleep 1")
    for job_id, expected in ((failing, "failed (exit code 3)"), (gpu, "completed")):
        _, user, text, created = await dm_for(live, job_id, 60)
        assert user == "mm-root" and expected in text, text
        assert " of its 1 h limit" in text, text  # MailProg path: the limit from sacct's Timelimit
        assert created.timestamp() - await ended_at(live.cluster, job_id) <= 10  # type: ignore[attr-defined]
    assert "with 1 GPU" in (await rows_for(live.db, live.slurm.name, gpu))[0][2]


@pytest.mark.timeout(120)
async def test_small_array_gives_one_dm_with_counts(live: Live, workdir: Path) -> None:
    array = await sbatch(
        live.slurm, workdir, "-J", "sweep", *MAIL, "-a", "0-4", "--wrap", "exit $((SLURM_ARRAY_TASK_ID==1))"
    )
    _, _, text, _ = await dm_for(live, array, 90)
    assert "Array job **" in text and "5 tasks (4 COMPLETED, 1 FAILED)" in text, text
    await live.notifier.idle()  # the mail events that came in are handled, and
    await live.notifier.reconcile()  # the poll has retried any still pending: nothing more comes
    async with live.db.connect() as conn:
        keys = (await conn.execute(select(OutboxRow.key))).scalars().all()
    assert [k for k in keys if k.startswith(f"job:{live.slurm.name}:{array}:")] == [
        (await rows_for(live.db, live.slurm.name, array))[0][0]
    ]


@pytest.mark.slurm_large
@pytest.mark.timeout(400)
async def test_200_task_array_gives_one_combined_dm(live: Live, workdir: Path) -> None:
    array = await sbatch(live.slurm, workdir, "-J", "big", *MAIL, "-a", "0-199", "--wrap", "true")
    _, _, text, _ = await dm_for(live, array, 360)
    assert "200 tasks (200 COMPLETED)" in text, text


@pytest.mark.timeout(180)
async def test_jobs_ended_while_the_bot_was_down_are_reported_once(
    slurm_up: Cluster, cluster: SlurmCluster, db: AsyncEngine, workdir: Path
) -> None:
    """Acceptance: 20 jobs finish while the bot is down; after a restart each is told once."""
    store, outbox = SqlJobStore(db), SqlOutbox(db)
    started = time.time()
    await store.set_mode("root", user_id="mm-root", mode="all", now=SystemClock().now())
    await notifier_for(cluster, slurm_up.name, store, outbox).reconcile()  # the bot ran once, then went down
    ids = [await sbatch(slurm_up, workdir, "-J", f"down{i}", "--wrap", "true") for i in range(20)]

    async def all_ended() -> bool:
        ended = await cluster.jobs_ended_since(SystemClock().now() - timedelta(minutes=10))
        return set(ids) <= {r.job_id for r in ended}

    await wait_until(all_ended, 150, "20 jobs to end")
    restarted = notifier_for(cluster, slurm_up.name, store, outbox)
    await restarted.reconcile()
    await restarted.reconcile()
    await notifier_for(cluster, slurm_up.name, store, outbox).reconcile()  # and another restart
    for job_id in ids:
        rows = await rows_for(db, slurm_up.name, job_id)
        assert len(rows) == 1 and rows[0][1] == "mm-root", (job_id, rows)
    assert time.time() - started < 170
