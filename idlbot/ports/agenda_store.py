"""What `AgendaService` keeps in the database (`storage.agenda.SqlAgendaStore`).

The freeze is decided by the database (one row per class date, inserted once), and the
publish progress lives in that row, so every method here is one short transaction and
any process that finds a row incomplete may finish it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from idlbot.domain.agenda import Agenda, ClassSlot, FrozenAgenda


class AgendaStore(Protocol):
    async def get(self, class_date: date) -> FrozenAgenda | None:
        """The agenda frozen for this class, None while it is not frozen."""
        ...

    async def previous(self, before: date) -> FrozenAgenda | None:
        """The latest agenda of an earlier class: its questions carry over if still open."""
        ...

    async def insert(self, slot: ClassSlot, agenda: Agenda, now: datetime) -> tuple[FrozenAgenda, bool]:
        """Freeze `agenda` unless this class is frozen already; (the stored one, inserted?),
        so a restart or a second process racing the cutoff publishes the winner's list."""
        ...

    async def rebuild(self, class_date: date, agenda: Agenda, now: datetime) -> FrozenAgenda:
        """A manual re-freeze: the new list as the next revision, to be published again."""
        ...

    async def published(
        self,
        class_date: date,
        *,
        post: int | None = None,
        wiki: int | None = None,
        labels: int | None = None,
        labeled: frozenset[int] | None = None,
        error: str | None = None,
    ) -> None:
        """Record which revision each publish step reached and the last error (None clears
        it); revisions only grow, so a slow caller cannot mark a newer one done."""
        ...

    async def incomplete(self, since: date) -> list[FrozenAgenda]:
        """Agendas of classes from `since` on whose post, page or labels lag behind."""
        ...

    async def mark_done(self, iid: int, *, by: str, now: datetime) -> bool:
        """`agenda done #n`: never on an agenda again. False if it was done already."""
        ...

    async def done(self) -> set[int]:
        """Every question discussed so far (left out of every agenda)."""
        ...

    async def skip(self, class_date: date, iid: int, *, by: str, now: datetime) -> bool:
        """`agenda skip #n`: left out of this one class. False if skipped already."""
        ...

    async def skipped(self, class_date: date) -> set[int]:
        """Questions skipped for this class."""
        ...
