"""Dedup of handled posts and per-channel re-sync cursors.

The websocket can drop; on reconnect the bot re-reads each DM channel's posts
since its cursor. Posts seen on both paths must be acted on once, which the
``handled_posts`` primary key guarantees even for two racing tasks/processes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from idlbot.storage._dialect import Database, insert_for, insert_in, read, transaction
from idlbot.storage.models import ChannelCursorRow, HandledPostRow

__all__ = ["SqlCursors", "SqlHandledPosts"]


class SqlHandledPosts:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(self, post_id: str, channel_id: str, now: datetime) -> bool:
        """True for exactly one caller per post id, ever; False for every later one."""
        async with transaction(self._db) as conn:
            stmt = (
                insert_for(conn, HandledPostRow.__table__)
                .values(post_id=post_id, channel_id=channel_id, handled_at=now)
                .on_conflict_do_nothing(index_elements=["post_id"])
                .returning(HandledPostRow.post_id)
            )
            return (await conn.execute(stmt)).first() is not None

    async def is_handled(self, post_id: str) -> bool:
        """A cheap pre-check; only :meth:`claim` is race-safe, so decide with that."""
        stmt = select(HandledPostRow.post_id).where(HandledPostRow.post_id == post_id)
        async with read(self._db) as conn:
            return (await conn.execute(stmt)).first() is not None

    async def prune(self, before: datetime) -> int:
        """Forget posts handled before ``before``; return how many.

        Safe once ``before`` is older than any re-sync window: those posts are
        behind every channel cursor and will not be fetched again.
        """
        stmt = delete(HandledPostRow).where(HandledPostRow.handled_at < before)
        async with transaction(self._db) as conn:
            return len((await conn.execute(stmt.returning(HandledPostRow.post_id))).all())


class SqlCursors:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, channel_id: str) -> int | None:
        stmt = select(ChannelCursorRow.last_post_at).where(ChannelCursorRow.channel_id == channel_id)
        async with read(self._db) as conn:
            return (await conn.execute(stmt)).scalar_one_or_none()

    async def advance(self, channel_id: str, create_at_ms: int) -> bool:
        """Move the cursor to ``create_at_ms`` if that is newer; True if it moved.

        Only forward: posts can be processed out of order (websocket and re-sync
        interleave), and moving back would re-fetch, moving past would skip.
        Done as one upsert with a WHERE so concurrent advances cannot regress it.
        """
        async with transaction(self._db) as conn:
            stmt = _forward(conn).returning(ChannelCursorRow.channel_id)
            row = {"channel_id": channel_id, "last_post_at": create_at_ms}
            return (await conn.execute(stmt, row)).first() is not None

    async def advance_many(self, moves: Mapping[str, int]) -> None:
        """`advance` for several channels in one transaction (the inbound handler saves its
        cursor moves in batches: a fan-out's own echoes are one post per DM channel)."""
        if not moves:
            return
        async with transaction(self._db) as conn:
            stmt = _forward(conn)
            # in key order: two replicas saving the same channels lock their rows alike
            # (PostgreSQL), so they cannot deadlock
            rows = [{"channel_id": cid, "last_post_at": at} for cid, at in sorted(moves.items())]
            await conn.execute(stmt, rows)

    async def all(self) -> dict[str, int]:
        stmt = select(ChannelCursorRow.channel_id, ChannelCursorRow.last_post_at)
        async with read(self._db) as conn:
            return {cid: at for cid, at in (await conn.execute(stmt)).all()}


def _forward(conn: AsyncConnection) -> postgresql.Insert | sqlite.Insert:
    return _forward_in(conn.dialect.name)


@functools.cache
def _forward_in(dialect: str) -> postgresql.Insert | sqlite.Insert:
    """The cursor upsert that only moves forward (the `advance` of one or of many rows),
    built once per dialect (`outbox_sql` says why): the inbound handler saves cursors after
    every batch of posts it handled."""
    ins = insert_in(dialect, ChannelCursorRow.__table__)
    return ins.on_conflict_do_update(
        index_elements=["channel_id"],
        set_={"last_post_at": ins.excluded.last_post_at},
        where=ChannelCursorRow.last_post_at < ins.excluded.last_post_at,
    )
