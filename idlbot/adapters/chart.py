"""The overview as a PNG: one stacked bar per rule (met / pending / failed), drawn in a
separate process.

Why a process, not a thread: drawing is pure Python plus C code that holds the GIL for
most of its ~0.1 s (and the first import of matplotlib takes ~0.5 s more). In a worker
thread it still held up the event loop: with six concurrent overviews its longest gap
was 0.11 to 0.38 s, and under 64 slash clients plus 2 overviews a second the slash p99
rose 1.4 to 2.3 times (`benchmarks/bench_loop.py`). A process has its own GIL, so the loop keeps
serving while a chart is drawn, and matplotlib is never imported into the bot process.

How the pool is bounded:
* `MAX_WORKERS = 1` process: the bot is one event loop, so it needs one core; on a
  2-core machine one renderer leaves the loop its core. A warm render takes ~0.1 s, so
  one worker draws ~10 charts a second, far above the few overviews staff ask for.
* at most `MAX_PENDING` renders wait or run at once; more are refused at once with
  `ChartUnavailable` instead of growing an unbounded queue;
* each render has `TIMEOUT` seconds (the first includes starting the worker and
  importing matplotlib); an overrun kills the worker, since a render that hangs once
  would hang the next ones queued behind it;
* the worker runs at a lower CPU priority (`nice`), so the loop wins a contended core.

The start method is "spawn": the bot process has threads (aiosqlite's, the GitLab pool,
asyncio's default executor), and `fork` copies only the forking thread, so a lock held
by another thread at that instant stays locked forever in the child. A spawned worker
starts a fresh interpreter and imports only this module and the pure domain it needs.

What crosses to the worker is a `ChartData`: the title and one (label, met, pending,
failed) row per rule, a few hundred bytes whatever the course size.

The last `KEPT` charts are kept by their `ChartData`: the same counts under the same
title draw the same bytes (below), so an overview asked again before anything changed
(a tutor asking twice, staff of one group after each other) costs no drawing. Under
the benchmark's 2 overviews a second the worker had drawn each, ~0.1 s of CPU apiece,
on the core that the load generator and the database share with it.

The figure is a plain `matplotlib.figure.Figure` on an Agg canvas, never pyplot, so no
figure is registered in pyplot's global manager and nothing leaks between renders. The
size is fixed and the PNG "Software" metadata is dropped, so the same overview gives the
same bytes (with the same matplotlib).
"""

from __future__ import annotations

import asyncio
import io
import logging
import multiprocessing
import os
import signal
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from idlbot.domain.overview import Overview
from idlbot.domain.qualification_render import TITLES
from idlbot.ports.chart import ChartUnavailable

log = logging.getLogger(__name__)

COLOURS = {"met": "#2e7d32", "pending": "#f9a825", "failed": "#c62828"}
SIZE_INCHES = (6.4, 3.0)
DPI = 100
MAX_WORKERS = 1
MAX_PENDING = 8
TIMEOUT = 20.0
WORKER_NICE = 10
START_METHOD = "spawn"
KEPT = 16  # charts kept for reuse, ~20 kB each


@dataclass(frozen=True)
class ChartData:
    """Everything the drawing needs, small and picklable (it is sent to the worker)."""

    title: str
    students: int
    rows: tuple[tuple[str, int, int, int], ...]  # (label, met, pending, failed) per rule


def chart_data(ov: Overview, *, title: str | None = None) -> ChartData:
    default = f"{ov.students} students: {ov.qualified} qualified, {len(ov.at_risk)} at risk"
    rows = tuple((TITLES[r.name], r.met, r.pending, r.failed) for r in ov.rules)
    return ChartData(title=title or default, students=ov.students, rows=rows)


def draw(data: ChartData) -> bytes:
    """Render `data` to PNG bytes (640 x 300 px). Runs in the worker process."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    rows = list(range(len(data.rows)))
    left = [0] * len(data.rows)
    for column, part in enumerate(("met", "pending", "failed"), start=1):
        values = [int(row[column]) for row in data.rows]
        bars = ax.barh(rows, values, left=left, color=COLOURS[part], label=part, height=0.6)
        labels = [str(v) if v * 12 >= max(data.students, 1) else "" for v in values]
        ax.bar_label(bars, labels=labels, label_type="center", color="white", fontsize=8)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(rows, [row[0] for row in data.rows], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, max(data.students, 1))
    ax.set_xlabel("students", fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(data.title, fontsize=10)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, -0.45), ncol=3, fontsize=8, frameon=False)
    fig.subplots_adjust(left=0.27, right=0.97, top=0.88, bottom=0.3)
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def overview_png(ov: Overview, *, title: str | None = None) -> bytes:
    """Render `ov` in this process (tests, benchmarks); the bot goes through `MatplotlibChart`."""
    return draw(chart_data(ov, title=title))


def _worker_init() -> None:
    """Yield the CPU to the bot's event loop when both want it. Ignore Ctrl-C: a terminal
    sends it to the whole process group, and the bot, not the signal, ends its worker
    (it printed a KeyboardInterrupt traceback when the demo was stopped)."""
    os.nice(WORKER_NICE)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _consume(future: asyncio.Future[bytes]) -> None:
    """Retrieve the outcome of a drawing nobody waits for any more (it overran), so that
    asyncio does not log "exception was never retrieved"."""
    if not future.cancelled():
        future.exception()


class MatplotlibChart:
    """Implements `idlbot.ports.chart.OverviewChart` on a bounded pool of worker processes.

    The pool starts with the first render (a bot whose staff never ask for an overview
    never starts a process) and `close()` shuts it down; the bot calls it at stop."""

    def __init__(self, *, max_workers: int = MAX_WORKERS, timeout: float = TIMEOUT) -> None:
        self._max_workers = max_workers
        self.timeout = timeout  # seconds per render, including the worker's start
        self._pool: ProcessPoolExecutor | None = None
        self._pending = 0
        self._kept: OrderedDict[ChartData, bytes] = OrderedDict()
        self.renders = 0  # charts drawn by the pool (tests, metrics)
        self.reused = 0  # charts answered from the kept ones

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self._max_workers,
                mp_context=multiprocessing.get_context(START_METHOD),
                initializer=_worker_init,
            )
        return self._pool

    async def render(self, overview: Overview, *, title: str | None = None) -> bytes:
        data = chart_data(overview, title=title)
        kept = self._kept.get(data)
        if kept is not None:
            self._kept.move_to_end(data)
            self.reused += 1
            return kept
        if self._pending >= MAX_PENDING:
            raise ChartUnavailable("the chart renderer is busy; try again in a minute")
        self._pending += 1
        try:
            png = await self._render(data)
        finally:
            self._pending -= 1
        self._kept[data] = png
        if len(self._kept) > KEPT:
            self._kept.popitem(last=False)
        return png

    async def _render(self, data: ChartData) -> bytes:
        pool = self._executor()
        drawing = asyncio.get_running_loop().run_in_executor(pool, draw, data)
        # asyncio.wait, not wait_for: cancelling the future would make the pool's manager
        # thread fail (InvalidStateError) when it later sets BrokenProcessPool on it
        drawing.add_done_callback(_consume)
        await asyncio.wait({drawing}, timeout=self.timeout)
        if not drawing.done():
            log.warning("chart: a render took over %g s; restarting the renderer", self.timeout)
            self._discard(pool)
            raise ChartUnavailable(f"drawing the chart took over {self.timeout:g} s")
        try:
            png = drawing.result()
        except BrokenProcessPool:
            log.warning("chart: the renderer process stopped; starting a new one for the next chart")
            self._discard(pool)
            raise ChartUnavailable("the chart renderer stopped; try again") from None
        except Exception as err:  # noqa: BLE001 - matplotlib's errors reach us pickled, of any type
            log.warning("chart: rendering failed: %s: %s", type(err).__name__, err)
            raise ChartUnavailable("the chart could not be drawn") from None
        self.renders += 1
        return png

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        """Drop `pool` and kill its worker, so the next render gets a fresh one (unless
        another render already replaced it: the new pool is not touched)."""
        if self._pool is not pool:
            return
        self._pool = None
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False)  # renders queued behind it fail with BrokenProcessPool, not
        for process in processes:  # a cancellation that would reach their commands
            process.kill()

    async def close(self) -> None:
        """Stop the worker; one still drawing is killed (a stop waits for no chart: the
        replies that needed one had their time before, see `Bot.stop`)."""
        pool = self._pool
        if pool is None:
            return
        if self._pending:
            self._discard(pool)
            return
        self._pool = None
        await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)
