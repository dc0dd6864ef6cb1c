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

import functools
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, or_, select

from idlbot.storage._dialect import Database, insert_in, read, transaction
from idlbot.storage.models_leases import LeaseRow

__all__ = ["SqlLeases"]

_T = LeaseRow.__table__


class SqlLeases:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        params = {"l_name": name, "l_holder": holder, "l_at": now, "l_until": now + ttl}
        async with transaction(self._db) as conn:
            return (await conn.execute(_acquire_statement(conn.dialect.name), params)).first() is not None

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


@functools.cache
def _acquire_statement(dialect: str) -> Any:
    """`acquire`'s statement (module doc) for one dialect, built once with the lease and
    its instants as parameters: each replica renews every lease every quarter of its TTL,
    and building the statement each time cost more of the event loop than running it."""
    ins = insert_in(dialect, _T).values(
        name=bindparam("l_name"),
        holder=bindparam("l_holder"),
        acquired_at=bindparam("l_at"),
        expires_at=bindparam("l_until"),
    )
    mine = LeaseRow.holder == ins.excluded.holder
    return ins.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "holder": ins.excluded.holder,
            "expires_at": ins.excluded.expires_at,
            "acquired_at": case((mine, LeaseRow.acquired_at), else_=ins.excluded.acquired_at),
        },
        where=or_(mine, LeaseRow.expires_at <= ins.excluded.acquired_at),
    ).returning(LeaseRow.holder)
