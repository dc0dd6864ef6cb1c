"""The garbage collector, tuned for a long-running asyncio service, and its pauses measured.

Why (issue 13): under 64 concurrent slash commands the process ran full collections of
82-108 ms, 3-4 every 10 s, and those pauses, not the handlers (0.15 ms p99), set the p99.
A full collection walks every tracked object, and after start-up most of them are the
imported modules, classes and functions, which live as long as the process:

* `gc.freeze()` after start-up moves all of them into the permanent generation, which no
  collection walks again, so a full collection only walks what was made since;
* the thresholds: a request allocates a few thousand container objects, nearly all freed
  by reference counting at once; with CPython's default gen-0 threshold of 700 a young
  collection ran several times per request. `THRESHOLDS` lets a young collection wait for
  50 000 allocations and makes the older ones rarer; nothing is kept alive longer (cycles
  are still found, a bit later).

`GcPauses` times every collection with `gc.callbacks` (start/stop per generation) into a
histogram on /metrics, `idlbot_gc_pause_seconds{generation}`, so a benchmark reads the
pauses of the real process from outside.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from prometheus_client import CollectorRegistry, Histogram

THRESHOLDS = (50_000, 20, 100)
"""gen-0 allocations, then gen-0 collections per gen-1 one and gen-1 per gen-2 (full)."""

BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25)


def tune_after_start() -> None:
    """Collect what start-up left behind, freeze the survivors, set the thresholds. Call it
    once, after imports, the schema check and building the app (see the module doc)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


class GcPauses:
    """Each collection's wall time by generation, into a histogram; `uninstall` on stop (tests
    run several bots in one process)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.histogram = Histogram(
            "idlbot_gc_pause_seconds",
            "Garbage collector pauses, by generation (2 = full collection).",
            ["generation"],
            registry=registry,
            buckets=BUCKETS,
        )
        self._by_gen = [self.histogram.labels(generation=str(g)) for g in range(3)]
        self._started = 0.0
        self.longest = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        self.longest = max(self.longest, took)
        self._by_gen[int(info.get("generation", 2))].observe(took)

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)
