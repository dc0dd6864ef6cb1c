"""GC pauses are measured per generation into the /metrics histogram (issue 13: the pauses,
not the handlers, set the p99, so the benchmark reads them from the running bot)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest
from prometheus_client import generate_latest

from idlbot import gctune
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


START_UP = """
import gc
from idlbot import gctune
with gctune.held_during_start():
    held = not gc.isenabled()
    gctune.tune_after_start()
    print(held, gc.isenabled(), gc.get_freeze_count() > 0, gc.get_threshold())
"""


def _start_up(env: dict[str, str]) -> str:
    command = [sys.executable, "-c", START_UP]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_no_collection_during_start_up_then_frozen_and_tuned() -> None:
    """The imports run without the collector; once the bot is built, what they made is
    frozen and the collector runs with the tuned thresholds (or CPython's, when asked)."""
    base = {k: v for k, v in os.environ.items() if k != "IDLBOT_GC_TUNE"}
    assert _start_up(base) == "True True True (1500, 10, 1000)"
    assert _start_up({**base, "IDLBOT_GC_TUNE": "0"}) == "False True False (700, 10, 10)"


def test_a_start_up_that_fails_leaves_the_collector_on() -> None:
    """An in-process caller (a test, the demo) goes on collecting after a failed start."""
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gctune.held_during_start():
        assert not gc.isenabled()
        raise RuntimeError("the database is down")
    assert gc.isenabled()
