"""Garbage collections deep in the stack, made on purpose.

A collection runs finalizers wherever an allocation triggers it, also at the bottom of a
deep recursion (the JSON decoder on `[[[[...`). A finalizer that needs a few dozen frames
(a transport's, a connection's) then fails with RecursionError, and its cleanup is lost.
`deep_collections` makes every allocation collect, with such a finalizer waiting each time,
and gives the failures it saw."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

FRAMES = 40  # a finalizer that warns or logs goes a few dozen frames deep


class _Finalized:
    """Garbage (a cycle) whose finalizer needs FRAMES frames and leaves the same garbage
    behind for the next collection."""

    def __init__(self, chain: _Chain) -> None:
        self.chain, self.me = chain, self

    def __del__(self) -> None:
        def down(n: int) -> int:
            return 0 if n == 0 else down(n - 1)

        try:
            down(FRAMES)
        except RecursionError as err:
            self.chain.failures.append(repr(err))
        if self.chain.active:
            _Finalized(self.chain)


class _Chain:
    def __init__(self) -> None:
        self.active = True
        self.failures: list[str] = []


@contextmanager
def deep_collections() -> Iterator[list[str]]:
    """Inside: a young-generation collection on every allocation, each running one
    finalizer; yields the list of the finalizers' RecursionErrors (empty if they all had
    stack enough). The older generations are left alone (collecting the whole test process
    on every allocation would take minutes)."""
    threshold = gc.get_threshold()
    chain = _Chain()
    _Finalized(chain)
    gc.set_threshold(1, 1_000_000, 1_000_000)
    try:
        yield chain.failures
    finally:
        gc.set_threshold(*threshold)
        chain.active = False
        gc.collect()
