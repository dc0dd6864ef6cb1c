"""`Budget`: inline or later, decided on a loop whose clock the test moves (no sleeping)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from idlbot.web.budget import Budget


class StillLoop(asyncio.SelectorEventLoop):
    """An event loop whose `time()` moves only when the test says so."""

    now = 1000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def loop() -> Iterator[StillLoop]:
    loop = StillLoop()
    yield loop
    loop.close()


def run(loop: StillLoop, test: Callable[[], Awaitable[Any]]) -> Any:
    return loop.run_until_complete(test())


def held(loop: StillLoop) -> tuple[asyncio.Future[None], asyncio.Task[None]]:
    """A task that runs until its gate is opened (`gate.set_result(None)`)."""
    gate: asyncio.Future[None] = loop.create_future()
    return gate, loop.create_task(asyncio.wait_for(gate, None))


async def turns(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_a_task_done_within_the_budget_is_inline(loop: StillLoop) -> None:
    budget = Budget(2.0)

    async def test() -> None:
        release: asyncio.Future[None] = loop.create_future()

        async def command() -> str:
            await release
            return "ok"

        task = loop.create_task(command())
        waiter = budget.wait(task)
        loop.now += 1.9
        release.set_result(None)
        assert await waiter is True
        assert task.result() == "ok" and len(budget) == 0

    run(loop, test)


def test_a_task_already_done_is_inline_without_a_timer(loop: StillLoop) -> None:
    budget = Budget(2.0)

    async def test() -> None:
        task = loop.create_future()
        task.set_result("ok")
        assert await budget.wait(task) is True
        assert len(budget) == 0 and budget._timer is None

    run(loop, test)


def test_the_budget_runs_out_and_the_task_goes_on(loop: StillLoop) -> None:
    budget = Budget(2.0)

    async def test() -> None:
        release, task = held(loop)
        waiter = budget.wait(task)
        loop.now += 1.99
        await turns()
        assert not waiter.done()
        loop.now += 0.02
        await turns()
        assert waiter.result() is False
        assert not task.done() and len(budget) == 0
        release.set_result(None)
        await task  # finishing later is the response_url path's business; nothing here breaks

    run(loop, test)


def test_waits_expire_in_order_on_one_timer(loop: StillLoop) -> None:
    budget = Budget(2.0)

    async def test() -> None:
        gates, tasks = zip(*(held(loop) for _ in range(3)), strict=True)
        waiters = []
        for task in tasks:  # asked at 1000.0, 1000.5, 1001.0
            waiters.append(budget.wait(task))
            loop.now += 0.5
        loop.now = 1002.1
        await turns()
        assert [w.done() for w in waiters] == [True, False, False]
        gates[2].set_result(None)
        await turns()
        assert waiters[2].result() is True  # done before its own deadline
        loop.now = 1002.6
        await turns()
        assert waiters[0].result() is False and waiters[1].result() is False
        assert len(budget) == 0 and budget._timer is None
        # a new wait arms the timer again
        gate, task = held(loop)
        late = budget.wait(task)
        loop.now += 2.01
        await turns()
        assert late.result() is False
        for g in (*gates[:2], gate):
            g.set_result(None)
        await turns()

    run(loop, test)


def test_a_cancelled_wait_is_forgotten_when_its_task_ends(loop: StillLoop) -> None:
    """The handler was cancelled (the client went away): its task still ends cleanly."""
    budget = Budget(2.0)

    async def test() -> None:
        gate, task = held(loop)
        waiter = budget.wait(task)
        waiter.cancel()
        gate.set_result(None)
        await task
        await turns()
        assert len(budget) == 0

    run(loop, test)
