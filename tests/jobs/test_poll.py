"""`JobNotifier.poll`, the periodic pass: the spool first, then sacct; a spool that cannot
be read does not keep sacct from being polled."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.clock import FakeClock
from idlbot.services.jobs import JobNotifier
from idlbot.storage.jobs import SqlJobStore

from .conftest import FakeCluster, dms, event, job


async def test_poll_takes_the_spool_then_polls_sacct(
    notifier: JobNotifier, fake: FakeCluster, store: SqlJobStore, clock: FakeClock, db: AsyncEngine,
    tmp_path: Path,
) -> None:  # fmt: skip
    spool = tmp_path / "spool"
    spool.mkdir()
    await store.set_mode("bob", user_id="mm-bob", mode="all", now=clock.now())
    fake.records = [job(50), job(51, user="bob", end=clock.now() - timedelta(seconds=30))]
    (spool / "0001-a.json").write_text(json.dumps(event(50, "s1")))
    await notifier.poll(spool)
    await notifier.idle()
    assert sorted(user for _, user, _ in await dms(db)) == ["mm-alice", "mm-bob"]  # mail, sacct
    assert list(spool.iterdir()) == []


async def test_an_unreadable_spool_is_logged_and_sacct_is_polled_anyway(
    notifier: JobNotifier, fake: FakeCluster, store: SqlJobStore, clock: FakeClock, db: AsyncEngine,
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    await store.set_mode("bob", user_id="mm-bob", mode="all", now=clock.now())
    fake.records = [job(51, user="bob", end=clock.now() - timedelta(seconds=30))]

    async def unreadable(spool_dir: Path) -> int:
        raise PermissionError(f"[Errno 13] Permission denied: '{spool_dir}'")

    monkeypatch.setattr(notifier, "ingest_spool", unreadable)
    with caplog.at_level(logging.ERROR, logger="idlbot.services.jobs"):
        await notifier.poll(tmp_path / "spool")
    assert [u for _, u, _ in await dms(db)] == ["mm-bob"]
    [record] = caplog.records
    assert record.getMessage() == f"reading the MailProg spool {tmp_path / 'spool'} failed"
    await notifier.poll(None)  # no spool configured: sacct only, and nothing twice
    assert len(await dms(db)) == 1
