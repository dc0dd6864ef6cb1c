"""adapters/chart: the overview PNG is a real, fixed-size, reproducible image and
leaves no pyplot state behind; the port draws it in a bounded worker process and turns
an overrun, a crash or a full queue into `ChartUnavailable` with a message for the user."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from idlbot.adapters.chart import KEPT, MAX_PENDING, MatplotlibChart, chart_data, overview_png
from idlbot.domain.overview import build_overview
from idlbot.ports.chart import ChartUnavailable
from tests.unit.test_overview import COURSE, NOW, synthetic

PNG = b"\x89PNG\r\n\x1a\n"


def _size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk comes first
    return width, height


def test_overview_png() -> None:
    ov = build_overview(synthetic(120, COURSE), COURSE, now=NOW)
    png = overview_png(ov)
    assert png.startswith(PNG)
    assert png[12:16] == b"IHDR"
    assert _size(png) == (640, 300)
    assert len(png) > 10_000  # bars, labels and legend, not a blank canvas
    assert overview_png(ov) == png  # deterministic
    assert b"Software" not in png
    if "matplotlib.pyplot" in sys.modules:  # somebody else imported it; we must not add figures
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []


def test_empty_overview_still_renders() -> None:
    png = overview_png(build_overview([], COURSE, now=NOW), title="Group 3")
    assert png.startswith(PNG)
    assert _size(png) == (640, 300)


async def test_the_port_draws_the_same_png_off_the_event_loop() -> None:
    ov = build_overview(synthetic(30, COURSE), COURSE, now=NOW)
    chart = MatplotlibChart()
    try:
        assert await chart.render(ov, title="Group 1") == overview_png(ov, title="Group 1")
        assert chart.renders == 1
    finally:
        await chart.close()


async def test_ctrl_c_is_the_bots_to_handle_not_the_workers() -> None:
    """Ctrl-C in a terminal signals the whole process group; a demo stopped that way
    printed the worker's KeyboardInterrupt traceback. The bot stops the worker itself,
    so the worker ignores SIGINT (read from the kernel: SigIgn in /proc)."""
    ov = build_overview(synthetic(5, COURSE), COURSE, now=NOW)
    chart = MatplotlibChart()
    try:
        await chart.render(ov)
        [worker] = chart._executor()._processes.values()  # type: ignore[union-attr]
        status = await asyncio.to_thread(Path(f"/proc/{worker.pid}/status").read_text)
        [ignored] = [line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:")]
        assert int(ignored, 16) & (1 << (signal.SIGINT - 1)), status
        os.kill(worker.pid, signal.SIGINT)
        assert (await chart.render(ov, title="drawn again")).startswith(PNG)
        assert worker.is_alive() and chart.renders == 2
    finally:
        await chart.close()


async def test_the_same_chart_asked_again_is_not_drawn_again() -> None:
    ov = build_overview(synthetic(30, COURSE), COURSE, now=NOW)
    other = build_overview(synthetic(31, COURSE), COURSE, now=NOW)
    chart = MatplotlibChart()
    try:
        first = await chart.render(ov, title="Group 1")
        assert await chart.render(ov, title="Group 1") == first
        assert (chart.renders, chart.reused) == (1, 1)
        assert await chart.render(ov, title="Group 2") != first  # the title is drawn too
        assert await chart.render(other, title="Group 1") != first  # so are the counts
        assert (chart.renders, chart.reused) == (3, 1)
        for n in range(KEPT):  # the oldest is dropped once KEPT others were drawn
            await chart.render(ov, title=f"g{n}")
        await chart.render(ov, title="Group 1")
        assert (chart.renders, chart.reused) == (3 + KEPT + 1, 1)
    finally:
        await chart.close()


def test_what_crosses_to_the_worker_is_small() -> None:
    """The worker gets the title and one row per rule, not the students."""
    ov = build_overview(synthetic(500, COURSE), COURSE, now=NOW)
    assert len(pickle.dumps(chart_data(ov, title="the whole course"))) < 1000


def test_rendering_never_imports_matplotlib_into_the_calling_process() -> None:
    script = (
        "import asyncio, sys\n"
        "from idlbot.adapters.chart import MatplotlibChart\n"
        "from idlbot.domain.overview import build_overview\n"
        "from tests.unit.test_overview import COURSE, NOW, synthetic\n"
        "async def main():\n"
        "    chart = MatplotlibChart()\n"
        "    png = await chart.render(build_overview(synthetic(5, COURSE), COURSE, now=NOW))\n"
        "    await chart.close()\n"
        "    assert png.startswith(b'\\x89PNG'), png[:8]\n"
        "    assert not [m for m in sys.modules if m.startswith('matplotlib')]\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


async def test_an_overrun_is_a_clear_error_and_the_next_render_gets_a_fresh_worker() -> None:
    ov = build_overview(synthetic(5, COURSE), COURSE, now=NOW)
    chart = MatplotlibChart(timeout=0.001)  # not even time to start the worker
    try:
        with pytest.raises(ChartUnavailable, match="drawing the chart took over"):
            await chart.render(ov)
        # renders queued behind an overrun get the same clear error, never a cancellation
        queued = await asyncio.gather(*(chart.render(ov) for _ in range(3)), return_exceptions=True)
        assert all(isinstance(r, ChartUnavailable) for r in queued), queued
        chart.timeout = 60.0
        assert (await chart.render(ov)).startswith(PNG)
    finally:
        await chart.close()


async def test_a_full_queue_refuses_at_once() -> None:
    ov = build_overview(synthetic(5, COURSE), COURSE, now=NOW)
    chart = MatplotlibChart()
    try:
        results = await asyncio.gather(
            *(chart.render(ov) for _ in range(MAX_PENDING + 1)), return_exceptions=True
        )
        refused = [r for r in results if isinstance(r, ChartUnavailable)]
        assert len(refused) == 1 and "busy" in str(refused[0])
        assert sum(isinstance(r, bytes) for r in results) == MAX_PENDING
    finally:
        await chart.close()
