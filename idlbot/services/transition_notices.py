"""Queueing the notices of stored transitions, in order, each once: the loop the
exclusion notices and the early warnings share.

Each pending transition is sent (its DMs queued under keys that carry the student's
transition number, so queueing twice is a no-op) and then marked announced. When sending
fails (Mattermost cannot be asked), the transition stays unannounced for the next pass,
and the student's later transitions wait too: a student must not read "you are back on
track" before the warning it answers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

__all__ = ["announce_in_order"]

log = logging.getLogger(__name__)


class _Change(Protocol):
    @property
    def student(self) -> str: ...

    @property
    def student_key(self) -> str: ...

    @property
    def seq(self) -> int: ...


C = TypeVar("C", bound=_Change)
R = TypeVar("R")


async def announce_in_order(
    pending: Sequence[C],
    *,
    send: Callable[[C], Awaitable[R]],
    mark: Callable[[C], Awaitable[None]],
    what: str,
) -> list[R]:
    """Send and mark each of `pending` (oldest first); what `send` returned, per change sent."""
    done: list[R] = []
    held: set[str] = set()  # students whose earlier transition could not be queued: keep order
    for change in pending:
        if change.student_key in held:
            continue
        try:
            result = await send(change)
        except Exception:  # Mattermost unreachable: leave it for the next pass
            log.warning(
                "%s for @%s (#%d) not queued yet; retrying at the next pass",
                what, change.student, change.seq, exc_info=True,
            )  # fmt: skip
            held.add(change.student_key)
            continue
        await mark(change)
        done.append(result)
    return done
