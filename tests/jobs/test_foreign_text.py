"""Slurm job names are chosen by whoever submits: the job DM mentions nobody and links nowhere."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.domain.jobs import ExitCode
from idlbot.services.jobs import JobNotifier
from tests.support.foreign import HOSTILE, assert_safe
from tests.support.markdown import tags

from .conftest import FakeCluster, dms, job, job_event


async def test_a_job_name_in_the_dm_pings_nobody(
    notifier: JobNotifier, fake: FakeCluster, db: AsyncEngine
) -> None:
    fake.records = [job(5, "FAILED", exit_code=ExitCode(3, 0), name=f"{HOSTILE} ```\n# x")]
    assert await notifier.accept(job_event(5))
    await notifier.idle()
    ((_, _, text),) = await dms(db)
    assert "evil" in text
    assert_safe(text)
    assert tags(text) <= {"p", "strong"}
