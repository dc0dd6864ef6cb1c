"""A per-student sequence of state transitions, each told once.

The exclusion notices (`domain/exclusion.py`) and the early warnings
(`domain/early_warnings.py`) tell a student about a *change* of state, not about the
state: being excluded, being at the last chance. Each change gets the next number in the
student's sequence (1, 2, 3 …), stored with the new state in the transaction that
computed it; the notices' outbox keys carry the number. So the same change computed
twice (a record repeated, two processes, a replay after a crash) finds the first one
stored and is no transition, while a genuine later change has a new number and is told
again. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Transition", "next_transition"]

S = TypeVar("S")


@dataclass(frozen=True)
class Transition(Generic[S]):
    """The last stored transition of a student: its number and the state it left."""

    seq: int
    state: S


def next_transition(last: Transition[S] | None, state: S, *, initial: S) -> Transition[S] | None:
    """The transition to store if `state` differs from the last stored one (or, with
    nothing stored yet, from `initial`), else None."""
    before = last.state if last is not None else initial
    if before == state:
        return None
    return Transition(seq=(last.seq if last is not None else 0) + 1, state=state)
