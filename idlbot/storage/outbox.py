"""The outbox: messages to post, persisted before sending so none is lost or doubled.

Life of a row: ``pending`` -> (claim) ``sending`` -> ``sent`` | ``failed``, or back to
``pending`` via :meth:`SqlOutbox.mark_retry`. A crash while ``sending`` leaves the
row there; :meth:`SqlOutbox.recover_inflight` puts it back at startup.

Several replicas share the outbox: an outbox built with a ``holder`` (the replica id)
and a ``claim_ttl`` claims rows until ``now + claim_ttl`` (``claimed_until``), renews its
claims while it sends (:meth:`SqlOutbox.renew_claims`), and takes over rows whose claim
expired, which a replica killed mid-send leaves behind; the sender looks those up by key
before sending again (``attempts > 1``). A replica's marks only change rows it still
holds, so one that stalled past its expiry cannot mark a row another replica took over.

Time is always passed in (``now``), never read here, so tests drive it with a
FakeClock and the same instant is used for every row touched in one call.

(Over 300 lines: the outbox's whole state machine, claim to sent or failed, in one place.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, func, or_, select, update

from idlbot.domain.attachment import Attachment
from idlbot.storage._dialect import Database, insert_for, read, read_rows, transaction
from idlbot.storage.models import OUTBOX_STATES, OutboxRow, OutboxState
from idlbot.storage.outbox_sql import (
    BACKLOG,
    COLUMNS,
    RECENT_ERRORS,
    TAKEN_OVER,
    claim_statement,
    enqueue_statement,
    held,
    mark_sent_statement,
    taken_over,
)

__all__ = ["TAKEN_OVER", "OutboxItem", "SqlOutbox"]

_T = OutboxRow.__table__


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A snapshot of one outbox row; changing it changes nothing in the database.

    ``attempts`` counts claims including the current one: a claimed item with
    ``attempts > 1`` may already have reached Mattermost on an earlier try, so the
    sender should look for the post before posting again.
    """

    id: int
    key: str
    channel_id: str | None
    dm_user_id: str | None
    message: str
    props: dict[str, Any]
    root_id: str | None
    state: OutboxState
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    post_id: str | None
    last_error: str | None
    files: tuple[Attachment, ...] = ()


def _item(row: Row[Any]) -> OutboxItem:
    m = row._mapping
    return OutboxItem(
        id=m["id"],
        key=m["key"],
        channel_id=m["channel_id"],
        dm_user_id=m["dm_user_id"],
        message=m["message"],
        props=dict(m["props"] or {}),
        root_id=m["root_id"],
        state=cast(OutboxState, m["state"]),
        attempts=m["attempts"],
        next_attempt_at=m["next_attempt_at"],
        created_at=m["created_at"],
        post_id=m["post_id"],
        last_error=m["last_error"],
        files=tuple(Attachment.from_json(f) for f in (m["files"] or [])),
    )


class SqlOutbox:
    """Outbox repository. Each method is one short transaction of its own.

    Built from an ``AsyncEngine`` or an ``async_sessionmaker`` (see ``db.sessionmaker``).
    """

    def __init__(
        self, db: Database, *, holder: str | None = None, claim_ttl: timedelta | None = None
    ) -> None:
        self._db = db
        self.holder = holder
        self.claim_ttl = claim_ttl

    async def enqueue(
        self,
        *,
        key: str,
        message: str,
        now: datetime,
        channel_id: str | None = None,
        dm_user_id: str | None = None,
        props: dict[str, Any] | None = None,
        root_id: str | None = None,
        files: Sequence[Attachment] = (),
    ) -> bool:
        """Queue a message due at ``now``. False, and nothing changed, if ``key`` exists.

        Exactly one of ``channel_id`` / ``dm_user_id`` (also enforced by a CHECK).
        """
        if (channel_id is None) == (dm_user_id is None):
            raise ValueError("exactly one of channel_id and dm_user_id must be given")
        params = {
            "e_key": key, "e_channel": channel_id, "e_dm": dm_user_id, "e_message": message,
            "e_props": props or {}, "e_files": [f.to_json() for f in files], "e_root": root_id,
            "e_now": now, "e_created": now,
        }  # fmt: skip
        async with transaction(self._db) as conn:
            return (await conn.execute(enqueue_statement(conn.dialect.name), params)).first() is not None

    async def claim_due(self, now: datetime, limit: int = 50) -> list[OutboxItem]:
        """Move up to ``limit`` due pending rows to ``sending`` and return them, by id.

        One ``WITH due AS MATERIALIZED (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)
        UPDATE ... FROM due``. On PostgreSQL a second process skips rows the first
        is claiming instead of waiting and then claiming them again, and the outer
        ``state = 'pending'`` is re-checked on the locked row version. The CTE is
        not a plain ``id IN (subquery)`` on purpose: PostgreSQL may re-run such a
        locking subquery per outer row, and each re-run skips the rows already
        locked, so more than ``limit`` rows get claimed. SQLite renders no FOR
        UPDATE; there the transaction holds the database write lock (BEGIN
        IMMEDIATE), so claimers simply run one after another.
        """
        until = None if self.claim_ttl is None else now + self.claim_ttl
        async with transaction(self._db) as conn:
            params = {"now": now, "until": until, "limit": limit, "holder": self.holder}
            rows = (await conn.execute(claim_statement(), params)).all()
        return sorted((_item(r) for r in rows), key=lambda item: item.id)

    def _mine(self) -> ColumnElement[bool]:
        return held(self.holder)

    async def renew_claims(self, now: datetime) -> int:
        """Extend this replica's claims to ``now + claim_ttl`` while it is still sending
        them (a batch may take longer than one TTL); returns how many."""
        if self.holder is None or self.claim_ttl is None:
            return 0
        stmt = update(OutboxRow).where(self._mine()).values(claimed_until=now + self.claim_ttl)
        async with transaction(self._db) as conn:
            return len((await conn.execute(stmt.returning(OutboxRow.id))).all())

    async def release_claims(self, now: datetime) -> int:
        """Back to ``pending`` (due ``now``) with every row this replica still holds: at a
        clean stop, after the worker ended, so another replica (or the next start) need
        not wait for the claims to expire. ``attempts`` is kept: a send cut off by the stop
        may have reached the server, and the next sender looks the row up by key."""
        if self.holder is None:
            return 0
        stmt = (
            update(OutboxRow)
            .where(self._mine())
            .values(state="pending", next_attempt_at=now, claimed_until=None, last_error=taken_over())
            .returning(OutboxRow.id)
        )
        async with transaction(self._db) as conn:
            return len((await conn.execute(stmt)).all())

    async def _transition(self, item_id: int, values: dict[str, Any]) -> bool:
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.id == item_id, self._mine())
            .values(**values)
            .returning(OutboxRow.id)
        )
        async with transaction(self._db) as conn:
            return (await conn.execute(stmt)).first() is not None

    async def mark_sent(self, item_id: int, *, post_id: str, now: datetime) -> bool:
        """Record delivery. Only from ``sending``; False if the row was not in flight
        (e.g. another process recovered and re-claimed it), so the caller can log it."""
        return await self._transition(item_id, {"state": "sent", "post_id": post_id, "sent_at": now})

    async def enqueue_dms(self, *, items: Sequence[tuple[str, str]], message: str, now: datetime) -> None:
        """Queue the same message as a DM to many users, (key, user id) each, in one
        transaction: a fan-out of 300 nudges is one commit, not 300. Existing keys are
        left as they are (ON CONFLICT DO NOTHING), exactly as with `enqueue`."""
        if not items:
            return
        rows: list[dict[str, Any]] = [
            {"key": key, "channel_id": None, "dm_user_id": user_id, "message": message, "props": {},
             "files": [], "root_id": None, "state": "pending", "attempts": 0,
             "next_attempt_at": now, "created_at": now}
            for key, user_id in items
        ]  # fmt: skip
        async with transaction(self._db) as conn:
            await conn.execute(insert_for(conn, _T).on_conflict_do_nothing(index_elements=["key"]), rows)

    async def mark_sent_many(self, delivered: Sequence[tuple[int, str]], *, now: datetime) -> None:
        """`mark_sent` for a batch, in one transaction (one commit per batch, not per post).
        Rows no longer in flight are left alone, as with `mark_sent` (drivers report no
        row count for a batch, so nothing is returned)."""
        if not delivered:
            return
        stmt = mark_sent_statement(by_holder=self.holder is not None)
        extra = {"b_now": now} if self.holder is None else {"b_now": now, "b_holder": self.holder}
        async with transaction(self._db) as conn:
            await conn.execute(stmt, [{"b_id": i, "b_post": p, **extra} for i, p in delivered])

    async def mark_retry(self, item_id: int, *, next_attempt_at: datetime, error: str) -> bool:
        """Back to ``pending``, due at ``next_attempt_at`` (the caller picks the backoff)."""
        return await self._transition(
            item_id, {"state": "pending", "next_attempt_at": next_attempt_at, "last_error": error}
        )

    async def mark_failed(self, item_id: int, *, error: str) -> bool:
        """Give up for good (bad channel, message rejected): never claimed again."""
        return await self._transition(item_id, {"state": "failed", "last_error": error})

    async def recover_inflight(
        self, now: datetime, *, claimed_before: datetime | None = None, only_expired: bool = False
    ) -> int:
        """Put rows stuck in ``sending`` back to ``pending``, due ``now``; return how many.

        Call at startup: a crash between claim and mark leaves rows in ``sending``
        forever otherwise. ``attempts`` is kept, which tells the sender an earlier
        attempt may have reached the server. With several processes, pass
        ``claimed_before`` so rows another live process is sending are left alone, or
        ``only_expired``: rows whose claim expired, this outbox's holder's own rows (a
        restart under the same replica id) and rows claimed without an expiry (by a
        version before claims expired).
        """
        cond: list[ColumnElement[bool]] = [OutboxRow.state == "sending"]
        if claimed_before is not None:
            cond.append(OutboxRow.claimed_at < claimed_before)
        if only_expired:
            cond.append(
                or_(
                    OutboxRow.claimed_until <= now,
                    OutboxRow.claimed_until.is_(None),
                    OutboxRow.claimed_by == (self.holder or ""),
                )
            )
        stmt = (
            update(OutboxRow)
            .where(*cond)
            .values(state="pending", next_attempt_at=now, last_error=taken_over())
        )
        async with transaction(self._db) as conn:
            rows = (await conn.execute(stmt.returning(OutboxRow.id))).all()
        return len(rows)

    async def reschedule_now(self, now: datetime) -> int:
        """Make pending rows that wait on a backoff due ``now``; return how many.

        Call when the server is reachable again (websocket reconnected): the
        backoff was for an outage that is over, and waiting it out would delay
        replies by up to the backoff cap for no reason.
        """
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.state == "pending", OutboxRow.next_attempt_at > now)
            .values(next_attempt_at=now)
            .returning(OutboxRow.id)
        )
        async with transaction(self._db) as conn:
            return len((await conn.execute(stmt)).all())

    async def backlog(self) -> tuple[int, datetime | None]:
        """(rows not yet delivered or given up, oldest ``created_at`` among them)."""
        ((count, oldest),) = await read_rows(self._db, BACKLOG)
        return int(count), oldest

    async def recent_errors(self, limit: int = 5) -> list[tuple[str, str]]:
        """(key, last_error) of rows that have an error, most recently attempted first."""
        rows = await read_rows(self._db, RECENT_ERRORS, {"limit": limit})
        return [(key, error) for key, error in rows if error is not None]

    async def get(self, key: str) -> OutboxItem | None:
        async with read(self._db) as conn:
            row = (await conn.execute(select(*COLUMNS).where(OutboxRow.key == key))).first()
        return None if row is None else _item(row)

    async def count_by_state(self) -> dict[str, int]:
        """Count per state; every state is present (0 if none) so metrics never go missing."""
        stmt = select(OutboxRow.state, func.count()).group_by(OutboxRow.state)
        counts: dict[str, int] = dict.fromkeys(OUTBOX_STATES, 0)
        async with read(self._db) as conn:
            for state, count in (await conn.execute(stmt)).all():
                counts[state] = int(count)
        return counts
