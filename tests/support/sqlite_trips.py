"""A fixture counting the trips to aiosqlite's thread (`storage/sqlite_driver.py`)."""

from __future__ import annotations

from typing import Any

import aiosqlite
import pytest


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call run in a connection's thread, by name. The wrapper only counts: it awaits
    aiosqlite's own `_execute`, so the driver does exactly what it does without it."""
    seen: list[str] = []
    run = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await run(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return seen
