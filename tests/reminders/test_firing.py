"""Firing on SQLite and PostgreSQL: claim once, late within grace, skip after it (logged
and in the log), crash recovery, nudges, and two processes on one database."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from idlbot.config import Settings
from idlbot.domain.reminders import Occurrence, Target
from idlbot.services.reminder_firing import fire
from idlbot.storage.db import create_engine
from tests.reminders.conftest import Rig, berlin, channel_id_of, make_rig, user_id

Q24 = "rem:questions:2018-10-23:-24h"  # Mon 22 Oct 12:00 CEST, grace 1 h


async def test_on_time_once_even_if_run_again(rig: Rig) -> None:
    assert all(o == "skipped" for _, o in await rig.scheduler.start(berlin(2018, 10, 22, 11, 59)))
    assert await rig.scheduler.run_due(berlin(2018, 10, 22, 12)) == [(Q24, "sent")]
    assert await rig.scheduler.run_due(berlin(2018, 10, 22, 12, 0, 30)) == []
    item = await rig.outbox.get(Q24)
    assert item is not None and item.channel_id == channel_id_of("questions")
    assert item.message.endswith("So far 7 questions filed.")


async def test_crash_before_firing_then_back_10_min_later_sends_late_once(
    rig: Rig, settings: Settings
) -> None:
    await rig.scheduler.start(berlin(2018, 10, 22, 11, 59, 59))  # kill -9 one second before
    restarted = make_rig(rig.engine, settings)  # a new process: fresh objects, same tables
    assert await restarted.scheduler.start(berlin(2018, 10, 22, 12, 10)) == [(Q24, "late")]
    assert await restarted.scheduler.run_due(berlin(2018, 10, 22, 12, 11)) == []
    [entry] = [r for r in await restarted.store.log() if r.key == Q24]
    assert (entry.state, entry.reason, entry.delivery) == ("sent", "late by 10 min (grace 1 h)", "pending")


async def test_back_after_the_grace_skips_logs_and_shows_it(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="idlbot.services.reminder_firing"):
        outcomes = await rig.scheduler.start(berlin(2018, 10, 22, 13, 30))
    assert (Q24, "skipped") in outcomes
    assert await rig.outbox.get(Q24) is None
    assert any(Q24 in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)
    [entry] = [r for r in await rig.store.log() if r.key == Q24]
    assert entry.state == "skipped" and entry.reason == "missed by 1 h 30 min, beyond the grace of 1 h"


async def test_two_hours_left_is_dropped_once_the_deadline_passed(rig: Rig) -> None:
    outcomes = dict(await rig.scheduler.start(berlin(2018, 10, 23, 12, 5)))
    assert outcomes["rem:questions:2018-10-23:-2h"] == "skipped"
    [entry] = [r for r in await rig.store.log() if r.key == "rem:questions:2018-10-23:-2h"]
    assert entry.reason is not None and entry.reason.startswith("deadline passed")


async def test_a_claim_left_by_a_dead_process_is_taken_over_and_sent_once(
    rig: Rig, settings: Settings
) -> None:
    now = berlin(2018, 10, 22, 12)
    assert await rig.store.claim(
        key=Q24, kind="questions", fire_at=now, target="x", now=now, stale=timedelta(minutes=10)
    )
    # died here: claimed, nothing enqueued. A live owner's claim is respected ...
    assert Q24 not in dict(await rig.scheduler.run_due(berlin(2018, 10, 22, 12, 5)))
    # ... a stale one is taken over; the outbox key keeps it to one post regardless.
    assert await make_rig(rig.engine, settings).scheduler.start(berlin(2018, 10, 22, 12, 11)) == [
        (Q24, "late")
    ]
    assert (await rig.outbox.get(Q24)) is not None


async def test_unknown_channel_is_recorded_as_failed(rig: Rig) -> None:
    occ = Occurrence(
        "rem:custom:9:x",
        "custom",
        berlin(2018, 10, 22, 12),
        Target("channel", "nowhere"),
        "t",
        timedelta(hours=1),
    )
    assert await fire(rig.deps, occ, berlin(2018, 10, 22, 12)) == "failed"
    [entry] = await rig.store.log()
    assert (entry.state, entry.reason) == ("failed", "no channel ~nowhere")


async def test_nudges_go_only_to_students_without_a_hand_in_and_not_muted(rig: Rig) -> None:
    rig.roster.hand_ins.add((user_id(1), "a03"))
    await rig.store.set_muted(user_id(3), "nudges", True, berlin(2018, 10, 1))
    outcomes = await rig.scheduler.start(berlin(2018, 10, 30, 17, 59))
    assert ("rem:nudge:a03:-6h", "sent") in outcomes
    assert await rig.outbox.get(f"rem:nudge:a03:-6h:{user_id(2)}") is not None
    assert await rig.outbox.get(f"rem:nudge:a03:-6h:{user_id(1)}") is None
    assert await rig.outbox.get(f"rem:nudge:a03:-6h:{user_id(3)}") is None
    await rig.store.set_muted(user_id(3), "nudges", False, berlin(2018, 10, 1))
    assert user_id(3) not in await rig.store.muted("nudges")


async def test_exercise_reminder_to_members(db_url: str, settings: Settings) -> None:
    import dataclasses
    from datetime import time

    from idlbot.domain.settings import ReminderRule

    members = dataclasses.replace(
        settings,
        reminders=dataclasses.replace(
            settings.reminders, exercise=ReminderRule("exercise", at=time(8), to="members")
        ),
    )
    engine = create_engine(db_url)
    try:
        rig = make_rig(engine, members)
        rig.roster.groups["g1"] = [user_id(1), user_id(2)]
        assert ("rem:exercise:g1:2018-10-18:08:00", "sent") in await rig.scheduler.start(
            berlin(2018, 10, 18, 8)
        )
        assert await rig.outbox.get(f"rem:exercise:g1:2018-10-18:08:00:{user_id(2)}") is not None
    finally:
        await engine.dispose()


async def test_two_processes_on_postgres_fire_100_occurrences_exactly_once(
    postgres_db_url: str, settings: Settings
) -> None:
    """Two engines, two runners, the same 100 occurrences, fired concurrently: each key is
    claimed by exactly one and enqueued exactly once."""
    t0 = datetime(2018, 10, 22, 10, tzinfo=UTC)
    occs = [
        Occurrence(
            f"rem:custom:{i}:x", "custom", t0, Target("channel", "questions"), f"n{i}", timedelta(hours=1)
        )
        for i in range(100)
    ]
    engines = [create_engine(postgres_db_url, pool_size=5) for _ in range(2)]
    try:
        rigs = [make_rig(e, settings) for e in engines]

        async def run(r: Rig) -> list[str]:
            return [o.key for o in occs if await fire(r.deps, o, t0) == "sent"]

        a, b = await asyncio.gather(run(rigs[0]), run(rigs[1]))
        assert sorted(a + b) == sorted(o.key for o in occs)
        assert not set(a) & set(b)
        counts = await rigs[0].outbox.count_by_state()
        assert counts["pending"] == 100
    finally:
        for e in engines:
            await e.dispose()


async def test_two_real_processes_on_postgres_fire_100_occurrences_exactly_once(
    postgres_db_url: str, settings: Settings, tmp_path: Path
) -> None:
    """The acceptance case with two OS processes (not two engines in one process)."""
    import sys
    import time

    from tests.reminders.fire_worker import occurrences

    start_at = str(time.time() + 3.0)
    outs = [tmp_path / "a.txt", tmp_path / "b.txt"]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.reminders.fire_worker", postgres_db_url, str(out), start_at
        )
        for out in outs
    ]
    assert [await asyncio.wait_for(p.wait(), 60) for p in procs] == [0, 0]
    a, b = (set(filter(None, out.read_text().splitlines())) for out in outs)
    assert a | b == {o.key for o in occurrences()}
    assert not a & b
    engine = create_engine(postgres_db_url)
    try:
        counts = await make_rig(engine, settings).outbox.count_by_state()
        assert counts["pending"] == 100
    finally:
        await engine.dispose()
