"""The shared backoff rule: capped, never less than half the ceiling."""

from __future__ import annotations

from idlbot.backoff import backoff_delay


def test_backoff_grows_then_caps_with_equal_jitter() -> None:
    low = [backoff_delay(n, base=0.5, cap=15, rng=lambda: 0.0) for n in range(8)]
    high = [backoff_delay(n, base=0.5, cap=15, rng=lambda: 1.0) for n in range(8)]
    assert low == [0.25, 0.5, 1.0, 2.0, 4.0, 7.5, 7.5, 7.5]
    assert high == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0]
    assert backoff_delay(10_000, base=1, cap=30, rng=lambda: 0.5) == 22.5
