"""SqlDmChannels: the bot's DM channel per user, kept across restarts."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select

from idlbot.storage._dialect import Database, insert_for, read, transaction
from idlbot.storage.models import DmChannelRow

__all__ = ["SqlDmChannels"]

_D = cast(Table, DmChannelRow.__table__)


class SqlDmChannels:
    """Implements `idlbot.ports.dm_channels.DmChannels`; one short transaction per call."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, bot_user_id: str, user_id: str) -> str | None:
        stmt = select(_D.c.channel_id).where(_D.c.bot_user_id == bot_user_id, _D.c.user_id == user_id)
        async with read(self._db) as conn:
            found: str | None = (await conn.execute(stmt)).scalar_one_or_none()
        return found

    async def remember(self, bot_user_id: str, user_id: str, channel_id: str) -> None:
        """An upsert: two processes learning the same channel at once both succeed."""
        async with transaction(self._db) as conn:
            stmt = insert_for(conn, _D).values(
                bot_user_id=bot_user_id, user_id=user_id, channel_id=channel_id
            )
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["bot_user_id", "user_id"], set_={"channel_id": channel_id}
                )
            )
