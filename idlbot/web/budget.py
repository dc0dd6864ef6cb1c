"""`Budget`: wait for a task at most a fixed time, all the waits sharing one timer.

A slash command is answered in the HTTP reply when it finishes within the inline budget
(2 s, inside Mattermost's patience), and via `response_url` otherwise. `asyncio.wait(...,
timeout=)` does that with a timer handle, a waiter, a set and callbacks per request: 14 us
of a cached `/idl deadlines`, which spends 200 us in all. Here a wait is one future, woken
by the task's done callback. The deadlines all come from one constant added to a
monotonic clock, so they arrive in order: one timer, set for the oldest wait, serves
them all and is re-armed for the next when it fires.
"""

from __future__ import annotations

import asyncio
from typing import Any


class Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._waiting: dict[asyncio.Future[bool], float] = {}  # waiter → deadline, in order
        self._timer: asyncio.TimerHandle | None = None

    def wait(self, task: asyncio.Future[Any]) -> asyncio.Future[bool]:
        """A future that becomes True when `task` is done, or False when the budget runs out
        first. Either way `task` goes on; cancelling the future leaves `task` alone too."""
        loop = task.get_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        if task.done():
            waiter.set_result(True)
            return waiter
        deadline = loop.time() + self.seconds
        self._waiting[waiter] = deadline
        task.add_done_callback(lambda _: self._settle(waiter, True))
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire, loop)
        return waiter

    def __len__(self) -> int:
        """Waits not settled yet."""
        return len(self._waiting)

    def _settle(self, waiter: asyncio.Future[bool], done: bool) -> None:
        if self._waiting.pop(waiter, None) is not None and not waiter.done():
            waiter.set_result(done)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        while self._waiting:
            waiter, deadline = next(iter(self._waiting.items()))
            if deadline > now:
                self._timer = loop.call_at(deadline, self._expire, loop)
                return
            self._settle(waiter, False)
