"""SqlDmChannels: the bot's DM channel per user, kept across restarts."""

from __future__ import annotations

import functools
from typing import Any, cast

from sqlalchemy import Table, bindparam, select

from idlbot.storage._dialect import Database, insert_in, read_rows, transaction
from idlbot.storage.models import DmChannelRow

__all__ = ["SqlDmChannels"]

_D = cast(Table, DmChannelRow.__table__)
# built once (`outbox_sql` says why): the outbox looks up, and learns, a DM channel for
# every DM it sends
_GET = select(_D.c.channel_id).where(
    _D.c.bot_user_id == bindparam("d_bot"), _D.c.user_id == bindparam("d_user")
)


class SqlDmChannels:
    """Implements `idlbot.ports.dm_channels.DmChannels`; one statement per call."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, bot_user_id: str, user_id: str) -> str | None:
        rows = await read_rows(self._db, _GET, {"d_bot": bot_user_id, "d_user": user_id})
        return cast(str, rows[0][0]) if rows else None

    async def remember(self, bot_user_id: str, user_id: str, channel_id: str) -> None:
        """An upsert: two processes learning the same channel at once both succeed."""
        params = {"d_bot": bot_user_id, "d_user": user_id, "d_channel": channel_id}
        async with transaction(self._db) as conn:
            await conn.execute(_remember_statement(conn.dialect.name), params)


@functools.cache
def _remember_statement(dialect: str) -> Any:
    """`remember`'s upsert for one dialect; the new channel wins, as the last one learnt."""
    ins = insert_in(dialect, _D).values(
        bot_user_id=bindparam("d_bot"), user_id=bindparam("d_user"), channel_id=bindparam("d_channel")
    )
    return ins.on_conflict_do_update(
        index_elements=["bot_user_id", "user_id"], set_={"channel_id": ins.excluded.channel_id}
    )
