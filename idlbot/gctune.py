"""The garbage collector, tuned for a long-running asyncio service, and its pauses measured.

Why: under 64 concurrent slash commands the process ran full collections of
82-108 ms, 3-4 every 10 s, and those pauses, not the handlers (0.15 ms p99), set the p99.
A full collection walks every tracked object, and after start-up most of them are the
imported modules, classes and functions, which live as long as the process:

* `gc.freeze()` after start-up moves all of them into the permanent generation, which no
  collection walks again, so a full collection only walks what was made since;
* the thresholds: a young collection walks everything allocated since the last one and
  what it references, so its pause grows with the gen-0 threshold. Measured on the real
  process under 64 clients (`benchmarks/runtime_probe.py`, 500 students, 2 shared cores):
  at 50 000 a young collection took 20-100 ms; at CPython's 700 they took <= 2 ms but ran
  ~13 times a second, and full collections of 100-250 ms came every ~10 s.
  `THRESHOLDS` = (1 500, 10, 100) with the freeze: young collections <= 5 ms of CPU,
  middle ones <= 10 ms, no full collection in the run.
* the third threshold: once `/idl status` and `/idl deadlines` answered from memory
  (`storage/changes.py`), the same benchmark ran 4-5 times as many requests, 110-170
  middle collections per run, and at 100 a full collection of 27-63 ms came once per run
  (CPython also waits until the objects promoted since the last full collection exceed a
  quarter of those it kept then). At 1 000 a full collection needs ten times as many
  middle ones (~15 million allocations): none in the benchmark's run.

`GcPauses` times every collection with `gc.callbacks` (start/stop per generation) into a
histogram on /metrics, `idlbot_gc_pause_seconds{generation}` (wall time, what a request
waits) and `idlbot_gc_pause_cpu_seconds{generation}` (the collector's own CPU time), so a
benchmark reads the pauses of the real process from outside.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram

THRESHOLDS = (1_500, 10, 1_000)
"""gen-0 allocations, then gen-0 collections per gen-1 one and gen-1 per gen-2 (full);
chosen from the measurements in the module doc."""

BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25)


M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
ARENAS = 2


def limit_malloc_arenas() -> bool:
    """Let glibc's malloc keep at most `ARENAS` arenas; call it before threads start.

    Why: glibc gives each thread that allocates its own arena (up to 8 per core), and
    what one frees stays in that arena for it alone. The bot has a few threads (the
    SQLite driver's, the GitLab pool, asyncio's executor): after the benchmark's load its
    RSS was 122-123 MB, with two arenas 116 MB (the same run with `MALLOC_ARENA_MAX=2`).
    An operator's own `MALLOC_ARENA_MAX` wins; on a C library without `mallopt` (musl,
    macOS) nothing happens. True if the limit was set here."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, ARENAS))


def _tuned() -> bool:
    """`IDLBOT_GC_TUNE=0` keeps CPython's defaults (for a before/after measurement)."""
    return os.environ.get("IDLBOT_GC_TUNE", "1") != "0"


@contextlib.contextmanager
def held_during_start() -> Iterator[None]:
    """No collection while the imports and the app build what lives as long as the process:
    the young collections they set off walked nothing that could be freed and made the
    imports 0.1 s slower (0.96-1.03 s instead of 1.09-1.12 s). `tune_after_start` ends it,
    or leaving the block does (start-up failed; an in-process caller goes on collecting).
    CPython's own advice for `gc.freeze` (disable early, freeze when start-up is done)."""
    if _tuned():
        gc.disable()
    try:
        yield
    finally:
        gc.enable()


def tune_after_start() -> None:
    """Freeze what start-up made, set the thresholds, switch the collector back on. Call it
    once the app is built, before it waits on anything (a database down at start must not
    leave the collector off). No `gc.collect()` first: it took 55-62 ms of start-up and
    found ~2 000 unreachable objects among ~190 000, which are now frozen with the rest."""
    if not _tuned():
        return
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    gc.enable()


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
        self.cpu = Histogram(
            "idlbot_gc_pause_cpu_seconds",
            "CPU time of each collection, by generation: the pause without the time the "
            "process waited for a core (on a busy machine the two differ).",
            ["generation"],
            registry=registry,
            buckets=BUCKETS,
        )
        self._by_gen = [self.histogram.labels(generation=str(g)) for g in range(3)]
        self._cpu_by_gen = [self.cpu.labels(generation=str(g)) for g in range(3)]
        self._started = self._started_cpu = 0.0
        self.longest = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started, self._started_cpu = time.perf_counter(), time.thread_time()
            return
        took = time.perf_counter() - self._started
        self.longest = max(self.longest, took)
        generation = int(info.get("generation", 2))
        self._by_gen[generation].observe(took)
        self._cpu_by_gen[generation].observe(time.thread_time() - self._started_cpu)

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)
