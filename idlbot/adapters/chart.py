"""The overview as a PNG: one stacked bar per rule (met / pending / failed).

matplotlib is imported inside the function: it is slow to import and only the
overview needs it. The figure is a plain `matplotlib.figure.Figure` on an Agg canvas,
never pyplot, so no figure is registered in pyplot's global manager and nothing
leaks between calls or threads. The size is fixed and the PNG "Software" metadata is
dropped, so the same overview gives the same bytes (with the same matplotlib).

`MatplotlibChart` is the `OverviewChart` port: it draws in a worker thread, because the
first import and the drawing take about half a second, which would stall every other
command and the websocket on the event loop. One drawing at a time: matplotlib's font
cache and rcParams are process-global and not safe to fill from two threads at once.
"""

from __future__ import annotations

import asyncio
import io
import threading

from idlbot.domain.overview import Overview
from idlbot.domain.qualification_render import TITLES

COLOURS = {"met": "#2e7d32", "pending": "#f9a825", "failed": "#c62828"}
SIZE_INCHES = (6.4, 3.0)
DPI = 100


def overview_png(ov: Overview, *, title: str | None = None) -> bytes:
    """Render `ov` to PNG bytes (640 x 300 px)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    names = [TITLES[r.name] for r in ov.rules]
    rows = list(range(len(ov.rules)))
    left = [0] * len(ov.rules)
    for part in ("met", "pending", "failed"):
        values = [getattr(r, part) for r in ov.rules]
        bars = ax.barh(rows, values, left=left, color=COLOURS[part], label=part, height=0.6)
        labels = [str(v) if v * 12 >= max(ov.students, 1) else "" for v in values]
        ax.bar_label(bars, labels=labels, label_type="center", color="white", fontsize=8)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(rows, names, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, max(ov.students, 1))
    ax.set_xlabel("students", fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(
        title or f"{ov.students} students: {ov.qualified} qualified, {len(ov.at_risk)} at risk", fontsize=10
    )
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, -0.45), ncol=3, fontsize=8, frameon=False)
    fig.subplots_adjust(left=0.27, right=0.97, top=0.88, bottom=0.3)
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


class MatplotlibChart:
    """Implements `idlbot.ports.chart.OverviewChart`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def _draw(self, ov: Overview, title: str | None) -> bytes:
        with self._lock:
            return overview_png(ov, title=title)

    async def render(self, overview: Overview, *, title: str | None = None) -> bytes:
        return await asyncio.to_thread(self._draw, overview, title)
