"""Counting the SQL statements a piece of code sends, on the engine itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements sent while inside, via `before_cursor_execute`. SQLite's `BEGIN`
    (which that hook sees, while asyncpg's does not show) is left out, so both databases
    count the same."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith("BEGIN"):
            statements.append(statement)

    with _listening(engine, "before_cursor_execute", record):
        yield statements


@contextmanager
def executed(engine: AsyncEngine) -> Iterator[list[object]]:
    """The statement objects passed to `execute` while inside (via `before_execute`), to
    tell a statement built once from one built anew for every call."""
    seen: list[object] = []

    def record(_conn: Any, clause: Any, *_args: Any) -> None:
        if not isinstance(clause, str):
            seen.append(clause)

    with _listening(engine, "before_execute", record):
        yield seen


@contextmanager
def _listening(engine: AsyncEngine, name: str, hook: Callable[..., None]) -> Iterator[None]:
    event.listen(engine.sync_engine, name, hook)
    try:
        yield
    finally:
        event.remove(engine.sync_engine, name, hook)
