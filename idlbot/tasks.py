"""TaskPool: owns background tasks so none dies silently.

A bare `asyncio.create_task` whose result nobody awaits swallows its exception until
garbage collection (and may be collected while running). Every background task of the
bot goes through `spawn`, which keeps a reference, logs a failure with its origin, and
lets `stop()` cancel and drain what is left.

A task may also be spawned under a `key` (an event id, "refresh"): `in_flight(key)` then
says whether that piece of work is still running, so a second path that would redo it
(a reconciliation finding the event still pending) can leave it alone. Keys are explicit
rather than read back from task names, because a name is a log label anyone may reword.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Hashable
from typing import Any

log = logging.getLogger(__name__)


class TaskPool:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._keyed: dict[Hashable, asyncio.Task[Any]] = {}

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, origin: str, key: Hashable | None = None
    ) -> asyncio.Task[Any]:
        """Run `coro` in the background, logged as `origin` if it fails. A `key` already in
        flight is refused (ValueError, and `coro` is closed unrun): two tasks doing one piece
        of work is exactly what the key is there to prevent, so callers ask `in_flight` first."""
        if key is not None and self.in_flight(key):
            coro.close()
            raise ValueError(f"a task for {key!r} is already running")
        task = asyncio.get_running_loop().create_task(coro, name=origin)
        self._tasks.add(task)
        if key is not None:
            self._keyed[key] = task
        task.add_done_callback(lambda done: self._done(done, key))
        return task

    def in_flight(self, key: Hashable) -> bool:
        """True while the task spawned under `key` has not finished."""
        task = self._keyed.get(key)
        return task is not None and not task.done()

    def _done(self, task: asyncio.Task[Any], key: Hashable | None) -> None:
        self._tasks.discard(task)
        if key is not None and self._keyed.get(key) is task:
            del self._keyed[key]
        if task.cancelled():
            return
        err = task.exception()
        if err is not None:
            log.error("background task %s failed", task.get_name(), exc_info=err)

    def __len__(self) -> int:
        return len(self._tasks)

    async def idle(self) -> None:
        """Wait until no task is left, including tasks spawned while waiting (a follow-up
        a task schedules for itself). Failures stay logged only, and cancelling the waiter
        leaves the tasks running (`asyncio.wait`, unlike `gather`, does not cancel them)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for running tasks (e.g. command replies) to finish, then cancel the rest."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        await self.stop()

    async def stop(self) -> None:
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
