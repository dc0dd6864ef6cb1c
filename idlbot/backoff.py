"""One backoff rule for every retry loop (websocket, login, outbox, database passes).

"Equal jitter": a delay uniform in [c/2, c] with c = min(cap, base * 2**attempt). Half
of the wait is guaranteed, so a flapping server is not hammered; the random half keeps
many clients (or many outbox rows) from retrying in lockstep."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_delay(
    attempt: int, *, base: float, cap: float, rng: Callable[[], float] = random.random
) -> float:
    ceiling = min(cap, base * 2.0 ** min(attempt, 30))
    return float(ceiling / 2 + rng() * ceiling / 2)
