"""The session-summary rota's ports: its storage (`RotaStore`, `storage.rota.SqlRotaStore`)
and what the `/idl rota` command uses (`Rota`, `services.rota.RotaService`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from idlbot.domain.rota import How, Pick, SummaryPage, Swap, SwapState


class RotaStore(Protocol):
    async def picks(self) -> dict[date, Pick]: ...

    async def insert_pick(self, pick: Pick, *, now: datetime) -> Pick:
        """Store `pick` unless the class already has one; the stored pick either way."""
        ...

    async def change_writer(
        self, day: date, writer: str, how: How, *, revision: int, now: datetime
    ) -> Pick | None:
        """Set a new writer if the pick is still at `revision` (else None: someone changed
        it meanwhile); the revision grows by one."""
        ...

    async def mark_announced(self, day: date, *, now: datetime) -> None: ...

    async def excuses(self) -> Mapping[date, frozenset[str]]: ...

    async def add_excuse(self, day: date, username: str, *, by: str, now: datetime) -> bool:
        """True if new."""
        ...

    async def pending_swap(self, day: date) -> Swap | None: ...

    async def ask_swap(self, swap: Swap, *, now: datetime) -> int:
        """Store a pending request (its id); an earlier pending one for the day is cancelled."""
        ...

    async def answer_swap(self, day: date, other: str, state: SwapState, *, now: datetime) -> Swap | None:
        """Settle the pending request of `day` made to `other`; None if there is none."""
        ...

    async def record_page(self, page: SummaryPage, *, created_at: datetime) -> bool:
        """True if new (or an earlier creation of the same slug)."""
        ...

    async def pages(self) -> list[SummaryPage]: ...


@dataclass(frozen=True)
class RotaView:
    """`/idl rota`: the next picks and the past ones with their page (slug) or None."""

    upcoming: tuple[Pick, ...]
    history: tuple[tuple[Pick, str | None], ...]
    prefix: str


@dataclass(frozen=True)
class Changed:
    """What a staff or swap action did, for the reply: the pick after it, and whom it told."""

    pick: Pick | None
    told: tuple[str, ...] = ()
    note: str = ""


class Rota(Protocol):
    def classes(self) -> tuple[date, ...]: ...

    def slug(self, day: date) -> str:
        """The summary page of the class on `day`."""
        ...

    async def view(self, now: datetime) -> RotaView: ...

    async def assign(self, day: date, username: str, *, by: str, now: datetime) -> Changed: ...

    async def excuse(self, username: str, day: date, *, by: str, now: datetime) -> Changed: ...

    async def swap(self, day: date, asker: str, other: str, *, now: datetime) -> Changed: ...

    async def answer(self, day: date, username: str, *, accept: bool, now: datetime) -> Changed: ...
