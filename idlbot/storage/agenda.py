"""SqlAgendaStore: frozen agendas, done and skipped questions.

The freeze is one INSERT … ON CONFLICT (course, class_date) DO NOTHING: the database decides
which caller's list becomes the agenda, so a restart across the cutoff or two bot
processes cannot produce two different agendas for one class. Everything after that
(post, wiki page, labels) is recorded per revision in the same row and is idempotent,
so whoever finds the row incomplete may finish it.

A store is bound to one course (`course=`): it writes that course into every row and
reads, updates and claims only that course's rows, so two courses' classes on one date
and their questions with the same iid (one GitLab project each) never meet.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, select, update

from idlbot.domain.agenda import Agenda, AgendaItem, ClassSlot, FrozenAgenda
from idlbot.domain.course import DEFAULT_COURSE_ID
from idlbot.storage._dialect import Database, insert_for, read, transaction
from idlbot.storage.models_agenda import AgendaDoneRow, AgendaFrozenRow, AgendaSkipRow

__all__ = ["SqlAgendaStore"]

_F = cast(Table, AgendaFrozenRow.__table__)
_D = cast(Table, AgendaDoneRow.__table__)
_S = cast(Table, AgendaSkipRow.__table__)


def _frozen(row: Any) -> FrozenAgenda:
    m = row._mapping
    items = tuple(AgendaItem.from_json(d) for d in m["items"])
    return FrozenAgenda(
        slot=ClassSlot(m["class_date"], m["cutoff_at"]),
        frozen_at=m["frozen_at"],
        agenda=Agenda(items, tuple(int(i) for i in m["ranking"])),
        revision=m["revision"],
        post_revision=m["post_revision"],
        wiki_revision=m["wiki_revision"],
        labels_revision=m["labels_revision"],
        labeled=frozenset(int(i) for i in m["labeled"]),
        last_error=m["last_error"],
    )


def _agenda_values(agenda: Agenda) -> dict[str, Any]:
    return {"items": [i.to_json() for i in agenda.items], "ranking": list(agenda.ranking)}


class SqlAgendaStore:
    """Implements `idlbot.ports.agenda_store.AgendaStore`; each method is one short
    transaction (see storage/_dialect.py)."""

    def __init__(self, db: Database, *, course: str = DEFAULT_COURSE_ID) -> None:
        self._db = db
        self._course = course

    def _frozen_at(self, class_date: date) -> tuple[Any, ...]:
        """The WHERE clause of this course's frozen agenda of `class_date`."""
        return (_F.c.course == self._course, _F.c.class_date == class_date)

    # --- frozen agendas ---------------------------------------------------------------
    async def get(self, class_date: date) -> FrozenAgenda | None:
        async with read(self._db) as conn:
            row = (await conn.execute(select(*_F.c).where(*self._frozen_at(class_date)))).first()
        return None if row is None else _frozen(row)

    async def previous(self, before: date) -> FrozenAgenda | None:
        """The latest agenda frozen for a class before `before` (for carry-over)."""
        stmt = (
            select(*_F.c)
            .where(_F.c.course == self._course, _F.c.class_date < before)
            .order_by(_F.c.class_date.desc())
            .limit(1)
        )
        async with read(self._db) as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _frozen(row)

    async def insert(self, slot: ClassSlot, agenda: Agenda, now: datetime) -> tuple[FrozenAgenda, bool]:
        """Freeze `agenda` for `slot` unless a freeze exists; (the stored one, inserted?)."""
        values = {
            "course": self._course, "class_date": slot.date, "cutoff_at": slot.cutoff,
            "frozen_at": now, "revision": 1, **_agenda_values(agenda), "labeled": [],
            "post_revision": 0, "wiki_revision": 0, "labels_revision": 0, "last_error": None,
        }  # fmt: skip
        async with transaction(self._db) as conn:
            stmt = (
                insert_for(conn, _F)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["course", "class_date"])
                .returning(_F.c.class_date)
            )
            inserted = (await conn.execute(stmt)).first() is not None
            row = (await conn.execute(select(*_F.c).where(*self._frozen_at(slot.date)))).one()
        return _frozen(row), inserted

    async def rebuild(self, class_date: date, agenda: Agenda, now: datetime) -> FrozenAgenda:
        """A manual re-freeze: the new list as the next revision, to be published again."""
        stmt = (
            update(_F)
            .where(*self._frozen_at(class_date))
            .values(**_agenda_values(agenda), frozen_at=now, revision=_F.c.revision + 1)
            .returning(*_F.c)
        )
        async with transaction(self._db) as conn:
            return _frozen((await conn.execute(stmt)).one())

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
        """Record progress and the last error (None clears it). Revisions only grow, so
        a slow caller finishing an older revision cannot mark a newer one published."""
        values: dict[str, Any] = {"last_error": error}
        if labeled is not None:
            values["labeled"] = sorted(labeled)
        async with transaction(self._db) as conn:
            steps = (("post_revision", post), ("wiki_revision", wiki), ("labels_revision", labels))
            for column, rev in steps:
                if rev is not None:
                    where = (*self._frozen_at(class_date), _F.c[column] < rev)
                    await conn.execute(update(_F).where(*where).values({column: rev}))
            await conn.execute(update(_F).where(*self._frozen_at(class_date)).values(**values))

    async def incomplete(self, since: date) -> list[FrozenAgenda]:
        """Rows for classes from `since` on whose post, page or labels lag behind."""
        stmt = (
            select(*_F.c)
            .where(
                _F.c.course == self._course,
                _F.c.class_date >= since,
                (_F.c.post_revision < _F.c.revision)
                | (_F.c.wiki_revision < _F.c.revision)
                | (_F.c.labels_revision < _F.c.revision),
            )
            .order_by(_F.c.class_date)
        )
        async with read(self._db) as conn:
            return [_frozen(r) for r in (await conn.execute(stmt)).all()]

    # --- done and skipped --------------------------------------------------------------
    async def mark_done(self, iid: int, *, by: str, now: datetime) -> bool:
        """False if it was already done (the first instructor's record stays)."""
        async with transaction(self._db) as conn:
            stmt = (
                insert_for(conn, _D)
                .values(course=self._course, iid=iid, done_at=now, done_by=by)
                .on_conflict_do_nothing(index_elements=["course", "iid"])
                .returning(_D.c.iid)
            )
            return (await conn.execute(stmt)).first() is not None

    async def done(self) -> set[int]:
        async with read(self._db) as conn:
            rows = await conn.execute(select(_D.c.iid).where(_D.c.course == self._course))
            return {int(i) for i in rows.scalars()}

    async def skip(self, class_date: date, iid: int, *, by: str, now: datetime) -> bool:
        async with transaction(self._db) as conn:
            stmt = (
                insert_for(conn, _S)
                .values(course=self._course, class_date=class_date, iid=iid, skipped_at=now, skipped_by=by)
                .on_conflict_do_nothing(index_elements=["course", "class_date", "iid"])
                .returning(_S.c.iid)
            )
            return (await conn.execute(stmt)).first() is not None

    async def skipped(self, class_date: date) -> set[int]:
        async with read(self._db) as conn:
            stmt = select(_S.c.iid).where(_S.c.course == self._course, _S.c.class_date == class_date)
            rows = await conn.execute(stmt)
            return {int(i) for i in rows.scalars()}
