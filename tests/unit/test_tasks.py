"""TaskPool: keyed tasks, idle, failures logged with their origin."""

from __future__ import annotations

import asyncio
import logging

import pytest

from idlbot.tasks import TaskPool


async def test_a_key_is_in_flight_exactly_while_its_task_runs() -> None:
    pool = TaskPool()
    gate = asyncio.Event()
    pool.spawn(gate.wait(), origin="slurm event e1", key=("event", "e1"))
    await asyncio.sleep(0)
    assert pool.in_flight(("event", "e1"))
    assert not pool.in_flight(("event", "e2"))
    gate.set()
    await pool.idle()
    assert not pool.in_flight(("event", "e1"))
    assert len(pool) == 0


async def test_a_running_key_is_refused_and_the_coroutine_closed() -> None:
    pool = TaskPool()
    gate = asyncio.Event()
    pool.spawn(gate.wait(), origin="first", key="refresh")
    second = gate.wait()
    with pytest.raises(ValueError, match="already running"):
        pool.spawn(second, origin="second", key="refresh")
    assert second.cr_frame is None  # closed: no "never awaited" warning, nothing runs
    gate.set()
    await pool.idle()
    pool.spawn(gate.wait(), origin="again", key="refresh")  # finished keys are free again
    await pool.idle()


async def test_idle_waits_for_tasks_spawned_while_waiting() -> None:
    pool = TaskPool()
    done: list[str] = []

    async def follow_up() -> None:
        await asyncio.sleep(0)
        done.append("follow-up")

    async def first() -> None:
        await asyncio.sleep(0)
        pool.spawn(follow_up(), origin="follow-up")
        done.append("first")

    pool.spawn(first(), origin="first")
    await pool.idle()
    assert done == ["first", "follow-up"]


async def test_a_failure_is_logged_with_its_origin_and_frees_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = TaskPool()

    async def boom() -> None:
        raise RuntimeError("sacct exploded")

    with caplog.at_level(logging.ERROR, logger="idlbot.tasks"):
        pool.spawn(boom(), origin="slurm event e9", key="e9")
        await pool.idle()
    assert not pool.in_flight("e9")
    assert any("slurm event e9" in r.getMessage() for r in caplog.records)


async def test_cancelling_a_waiter_of_idle_leaves_the_tasks_running() -> None:
    pool = TaskPool()
    gate = asyncio.Event()
    task = pool.spawn(gate.wait(), origin="refresh", key="refresh")
    waiter = asyncio.get_running_loop().create_task(pool.idle())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert pool.in_flight("refresh") and not task.cancelled()
    gate.set()
    await pool.idle()
    assert task.done() and not task.cancelled()
