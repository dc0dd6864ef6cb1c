"""`SqlRotaStore`: the session-summary rota's rows (see `models_rota`).

The pick is an INSERT .. ON CONFLICT DO NOTHING on the class date followed by a read, so
two processes picking at once store one writer and both announce that one. A change of
writer is a compare-and-set on the revision: a staff assignment racing an accepted swap
cannot silently overwrite it.

A store is bound to one course (`course=`): every row it writes carries the course, and
every read, change and claim sees only that course's rows, so two courses holding a
class on the same date each pick their own writer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import insert, select, update

from idlbot.domain.course import DEFAULT_COURSE_ID
from idlbot.domain.rota import How, Pick, SummaryPage, Swap, SwapState
from idlbot.domain.usernames import normalize_username
from idlbot.storage._dialect import Database, insert_for, read, transaction
from idlbot.storage.models_rota import SummaryExcuseRow, SummaryPageRow, SummaryPickRow, SummarySwapRow

_P = SummaryPickRow
_S = SummarySwapRow
_E = SummaryExcuseRow
_W = SummaryPageRow


def _pick(row: Any) -> Pick:
    return Pick(row.class_date, row.writer, cast(How, row.how), row.announced, row.revision)


def _swap(row: Any) -> Swap:
    return Swap(row.class_date, row.asker, row.other, cast(SwapState, row.state), row.id)


class SqlRotaStore:
    def __init__(self, db: Database, *, course: str = DEFAULT_COURSE_ID) -> None:
        self._db = db
        self._course = course

    def _pending(self, day: date) -> tuple[Any, ...]:
        """The WHERE clause of this course's pending swap requests for the class of `day`."""
        return (_S.course == self._course, _S.class_date == day, _S.state == "pending")

    async def picks(self) -> dict[date, Pick]:
        stmt = select(_P.__table__).where(_P.course == self._course).order_by(_P.class_date)
        async with read(self._db) as conn:
            rows = (await conn.execute(stmt)).all()
        return {r.class_date: _pick(r) for r in rows}

    async def insert_pick(self, pick: Pick, *, now: datetime) -> Pick:
        async with transaction(self._db) as conn:
            values = {
                "course": self._course, "class_date": pick.day,
                "writer": normalize_username(pick.writer), "how": pick.how, "announced": pick.announced,
                "revision": 1, "picked_at": now, "changed_at": now,
            }  # fmt: skip
            await conn.execute(insert_for(conn, _P.__table__).values(**values).on_conflict_do_nothing())
            stored = select(_P.__table__).where(_P.course == self._course, _P.class_date == pick.day)
            row = (await conn.execute(stored)).one()
        return _pick(row)

    async def change_writer(
        self, day: date, writer: str, how: How, *, revision: int, now: datetime
    ) -> Pick | None:
        async with transaction(self._db) as conn:
            stmt = (
                update(_P)
                .where(_P.course == self._course, _P.class_date == day, _P.revision == revision)
                .values(writer=normalize_username(writer), how=how, revision=revision + 1, changed_at=now)
                .returning(*_P.__table__.c)
            )
            row = (await conn.execute(stmt)).first()
        return None if row is None else _pick(row)

    async def mark_announced(self, day: date, *, now: datetime) -> None:
        stmt = update(_P).where(_P.course == self._course, _P.class_date == day).values(announced=True)
        async with transaction(self._db) as conn:
            await conn.execute(stmt)

    async def excuses(self) -> Mapping[date, frozenset[str]]:
        stmt = select(_E.class_date, _E.username).where(_E.course == self._course)
        async with read(self._db) as conn:
            rows = (await conn.execute(stmt)).all()
        found: dict[date, set[str]] = defaultdict(set)
        for r in rows:
            found[r.class_date].add(r.username)
        return {d: frozenset(names) for d, names in found.items()}

    async def add_excuse(self, day: date, username: str, *, by: str, now: datetime) -> bool:
        async with transaction(self._db) as conn:
            values = {
                "course": self._course, "class_date": day, "username": normalize_username(username),
                "by": by, "at": now,
            }  # fmt: skip
            stmt = insert_for(conn, _E.__table__).values(**values).on_conflict_do_nothing()
            return bool((await conn.execute(stmt.returning(_E.id))).first())

    async def pending_swap(self, day: date) -> Swap | None:
        async with read(self._db) as conn:
            stmt = select(_S.__table__).where(*self._pending(day)).order_by(_S.id.desc())
            row = (await conn.execute(stmt)).first()
        return None if row is None else _swap(row)

    async def ask_swap(self, swap: Swap, *, now: datetime) -> int:
        async with transaction(self._db) as conn:
            await conn.execute(
                update(_S).where(*self._pending(swap.day)).values(state="cancelled", answered_at=now)
            )
            stmt = insert(_S).values(
                course=self._course, class_date=swap.day, asker=normalize_username(swap.asker),
                other=normalize_username(swap.other), state="pending", asked_at=now, answered_at=None,
            )  # fmt: skip
            return int((await conn.execute(stmt.returning(_S.id))).scalar_one())

    async def answer_swap(self, day: date, other: str, state: SwapState, *, now: datetime) -> Swap | None:
        async with transaction(self._db) as conn:
            stmt = (
                update(_S)
                .where(*self._pending(day), _S.other == normalize_username(other))
                .values(state=state, answered_at=now)
                .returning(*_S.__table__.c)
            )
            row = (await conn.execute(stmt)).first()
        return None if row is None else _swap(row)

    async def record_page(self, page: SummaryPage, *, created_at: datetime) -> bool:
        async with transaction(self._db) as conn:
            ins = insert_for(conn, _W.__table__).values(
                course=self._course, slug=page.slug.strip("/"), class_date=page.day,
                author=normalize_username(page.author), created_at=created_at,
            )  # fmt: skip
            stmt = ins.on_conflict_do_update(
                index_elements=["course", "slug"],
                set_={c: ins.excluded[c] for c in ("class_date", "author", "created_at")},
                where=_W.created_at > ins.excluded.created_at,
            ).returning(_W.slug)
            return (await conn.execute(stmt)).first() is not None

    async def pages(self) -> list[SummaryPage]:
        stmt = select(_W.__table__).where(_W.course == self._course).order_by(_W.created_at, _W.slug)
        async with read(self._db) as conn:
            rows = (await conn.execute(stmt)).all()
        return [SummaryPage(r.class_date, r.slug, r.author) for r in rows]
