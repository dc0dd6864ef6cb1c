"""GC pauses are measured per generation into the /metrics histogram (issue 13: the pauses,
not the handlers, set the p99, so the benchmark reads them from the running bot)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

from prometheus_client import generate_latest

from idlbot.metrics import Metrics


def _count(metrics: Metrics, generation: int) -> float:
    labels = {"generation": str(generation)}
    value = metrics.registry.get_sample_value("idlbot_gc_pause_seconds_count", labels)
    return value or 0.0


def test_each_collection_is_timed_by_generation_until_uninstalled() -> None:
    metrics = Metrics()
    metrics.gc.install()
    try:
        gc.collect(0)
        gc.collect()
    finally:
        metrics.gc.uninstall()
    assert _count(metrics, 0) >= 1 and _count(metrics, 2) >= 1
    assert metrics.gc.longest > 0
    before = _count(metrics, 2)
    gc.collect()
    assert _count(metrics, 2) == before  # uninstalled: no longer counted
    assert b"idlbot_gc_pause_seconds_bucket" in generate_latest(metrics.registry)


def _arenas(env: dict[str, str]) -> str:
    script = "from idlbot import gctune; print(gctune.limit_malloc_arenas())"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_malloc_arenas_are_limited_unless_the_operator_chose() -> None:
    base = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert _arenas(base) == "True"  # glibc here (Debian)
    assert _arenas({**base, "MALLOC_ARENA_MAX": "4"}) == "False"
