"""Leases in the database (the `Leases` port): PostgreSQL itself decides who holds what.

Acquire-or-renew is one statement::

    INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (...)
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
        acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at
                           ELSE excluded.acquired_at END
    WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.acquired_at
    RETURNING holder

A row comes back only if the insert or the guarded update happened, i.e. if the caller
holds the lease now. PostgreSQL locks the conflicting row for the update, so two replicas
racing for an expired lease are serialised and the second sees the first's fresh expiry;
SQLite runs it under its single writer lock. A separate SELECT then UPDATE would let both
see "expired" and both take it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, select

from idlbot.storage._dialect import Database, insert_for, read, transaction
from idlbot.storage.models_leases import LeaseRow

__all__ = ["SqlLeases"]

_T = LeaseRow.__table__


class SqlLeases:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        async with transaction(self._db) as conn:
            ins = insert_for(conn, _T).values(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
            mine = LeaseRow.holder == ins.excluded.holder
            stmt = ins.on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "holder": ins.excluded.holder,
                    "expires_at": ins.excluded.expires_at,
                    "acquired_at": case((mine, LeaseRow.acquired_at), else_=ins.excluded.acquired_at),
                },
                where=or_(mine, LeaseRow.expires_at <= ins.excluded.acquired_at),
            ).returning(LeaseRow.holder)
            return (await conn.execute(stmt)).first() is not None

    async def release(self, holder: str, names: Collection[str]) -> None:
        if not names:
            return
        stmt = delete(LeaseRow).where(LeaseRow.holder == holder, LeaseRow.name.in_(list(names)))
        async with transaction(self._db) as conn:
            await conn.execute(stmt)

    async def holders(self, now: datetime) -> dict[str, str]:
        stmt = select(LeaseRow.name, LeaseRow.holder).where(LeaseRow.expires_at > now)
        async with read(self._db) as conn:
            return {name: holder for name, holder in (await conn.execute(stmt)).all()}

    async def clear(self) -> None:
        async with transaction(self._db) as conn:
            await conn.execute(delete(LeaseRow))
