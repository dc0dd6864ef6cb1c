"""GC pauses are measured per generation into the /metrics histogram (issue 13: the pauses,
not the handlers, set the p99, so the benchmark reads them from the running bot)."""

from __future__ import annotations

import gc

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
