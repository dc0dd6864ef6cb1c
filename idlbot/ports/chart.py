"""The overview chart: what `/idl overview` attaches, without the command knowing how
it is drawn (matplotlib, in `idlbot.adapters.chart`, slow to import and CPU-bound)."""

from __future__ import annotations

from typing import Protocol

from idlbot.domain.overview import Overview


class ChartUnavailable(Exception):
    """The chart could not be drawn: the renderer is busy, too slow, or crashed.

    The message is safe to show to the user. The overview's text does not depend on the
    chart, so a command sends it without the picture rather than failing."""


class OverviewChart(Protocol):
    async def render(self, overview: Overview, *, title: str | None = None) -> bytes:
        """The overview as PNG bytes: one stacked bar per rule (met / pending / failed).

        Raises `ChartUnavailable` when it cannot be drawn in time."""
        ...
