"""Time is injected: everything that reasons about deadlines takes a Clock.

Tests pass a FakeClock so no test waits on the wall clock for time logic. `now()`
is always timezone-aware UTC; callers convert to the course's zone themselves,
because wall-clock arithmetic must happen in the IANA zone (DST) and not in UTC.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for durations only)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        delta = (when.astimezone(UTC) - self._now).total_seconds()
        self._now = when.astimezone(UTC)
        self._mono += max(delta, 0.0)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> None:
        step = delta if delta is not None else timedelta(**kwargs)
        self._now += step
        self._mono += step.total_seconds()


class ShiftedClock:
    """Real time, shifted so that it reads `start` now. The demo and the end-to-end tests
    run the 2018 example course today: time flows (retries come due), inside the term."""

    def __init__(self, start: datetime) -> None:
        self._offset = start.astimezone(UTC) - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def monotonic(self) -> float:
        return time.monotonic()
