"""adapters/chart: the overview PNG is a real, fixed-size, reproducible image and
leaves no pyplot state behind."""

from __future__ import annotations

import struct
import sys

from idlbot.adapters.chart import MatplotlibChart, overview_png
from idlbot.domain.overview import build_overview
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
    assert await chart.render(ov, title="Group 1") == overview_png(ov, title="Group 1")
