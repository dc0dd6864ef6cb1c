"""The standings `qualification.evaluate` keeps: the last one of each ledger object, with
the key (course, `when_class`, person) it was worked out for, for as long as that ledger
lives.

Why: the ledgers a bot reads are frozen copies that live until the next write
(`storage/changes.py`), and every `/idl status` and every overview of 500 students worked
the same standings out again (~50 us each). A ledger is matched by identity, never by
value: hashing one costs about as much as evaluating it.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from idlbot.domain.ledger import StudentLedger
    from idlbot.domain.qualification import Standing

KEEP = 16_384
"""A bound on the standings kept, never reached in use: each is kept only while its ledger
lives (`_Ref`), and a bot holds two copies of a student's ledger (the student's own for
`/idl status`, the whole course's for overviews and the routines), three for one in a
group an overview was asked for. At 1 024 and no letting go, the benchmark's 500 students
filled it to 1 020, and a course of more than 512 started over after each overview."""


class _Ref(weakref.ref):  # type: ignore[type-arg]
    """A ledger's entry in `_kept`, which goes when the ledger does: a write replaces the
    copy, and the standing worked out for the old one is let go with it. Its id cannot be
    taken by another object before then: the callback runs while the ledger is freed."""

    __slots__ = ("ident",)
    ident: int

    def __new__(cls, ledger: StudentLedger, ident: int) -> _Ref:
        ref = super().__new__(cls, ledger, _forget)
        ref.ident = ident
        return ref


_Kept = dict[int, tuple[_Ref, Hashable, "Standing"]]
_kept: _Kept = {}


def _forget(ref: weakref.ref, kept: _Kept = _kept) -> None:  # type: ignore[type-arg]
    """The callback of a ledger's `_Ref`. The keep is bound here, not looked up: a ledger
    freed while the interpreter exits may find this module's names already gone."""
    ident: int = getattr(ref, "ident", -1)
    entry = kept.get(ident)
    if entry is not None and entry[0] is ref:
        kept.pop(ident, None)


def kept(ledger: StudentLedger, key: Hashable) -> Standing | None:
    """The standing kept for this ledger object and `key`, if any."""
    entry = _kept.get(id(ledger))
    if entry is not None and entry[0]() is ledger and entry[1] == key:
        return entry[2]
    return None


def keep(ledger: StudentLedger, key: Hashable, standing: Standing) -> None:
    """Keep `standing` for this ledger object and `key`, in place of what it had."""
    ident = id(ledger)
    entry = _kept.get(ident)
    ref = entry[0] if entry is not None and entry[0]() is ledger else _Ref(ledger, ident)
    if len(_kept) >= KEEP:
        _kept.clear()
    _kept[ident] = (ref, key, standing)
