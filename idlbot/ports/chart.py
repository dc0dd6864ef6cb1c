"""The overview chart: what `/idl overview` attaches, without the command knowing how
it is drawn (matplotlib, in `idlbot.adapters.chart`, slow to import and CPU-bound)."""

from __future__ import annotations

from typing import Protocol

from idlbot.domain.overview import Overview


class OverviewChart(Protocol):
    async def render(self, overview: Overview, *, title: str | None = None) -> bytes:
        """The overview as PNG bytes: one stacked bar per rule (met / pending / failed)."""
        ...
