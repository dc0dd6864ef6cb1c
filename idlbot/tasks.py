"""TaskPool: owns background tasks so none dies silently.

A bare `asyncio.create_task` whose result nobody awaits swallows its exception until
garbage collection (and may be collected while running). Every background task of the
bot goes through `spawn`, which keeps a reference, logs a failure with its origin, and
lets `stop()` cancel and drain what is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class TaskPool:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], *, origin: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=origin)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        err = task.exception()
        if err is not None:
            log.error("background task %s failed", task.get_name(), exc_info=err)

    def __len__(self) -> int:
        return len(self._tasks)

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
