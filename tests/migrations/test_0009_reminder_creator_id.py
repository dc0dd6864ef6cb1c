"""Revision 0009 on SQLite and PostgreSQL: a custom reminder stored before it keeps every
field and gets no creator id (so only instructors may change it); the downgrade drops
the column and keeps the rows.

Raw SQL on the schema of 0009, not `SqlReminderStore`: the store follows the newest
schema (the course column of 0016), which a database at 0009 does not have yet."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from idlbot.storage.db import downgrade, upgrade
from tests.migrations.support import execute

T0 = datetime(2018, 10, 23, 8, 0, tzinfo=UTC)
BEFORE, AFTER = "0007_delivery_keys", "0009_reminder_creator_id"

OLD = sa.table(
    "reminder_custom", sa.column("id", sa.Integer), sa.column("kind", sa.String),
    sa.column("first_at", sa.DateTime(timezone=True)), sa.column("channel", sa.String),
    sa.column("text", sa.Text), sa.column("created_by", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)), sa.column("cancelled", sa.Boolean),
)  # fmt: skip
NEW = sa.table(
    "reminder_custom", *(sa.column(c.name, c.type) for c in OLD.c), sa.column("created_by_id", sa.String)
)
SHOWN = (NEW.c.created_by, NEW.c.created_by_id, NEW.c.text)


async def test_old_reminders_get_no_creator_id_and_survive_the_round_trip(empty_db_url: str) -> None:
    url = empty_db_url
    await upgrade(url, BEFORE)
    [(old_id,)] = await execute(url, OLD.insert().returning(OLD.c.id).values(
        kind="once", first_at=T0, channel="questions", text="Two hours left",
        created_by="sstober", created_at=T0, cancelled=False,
    ))  # fmt: skip
    await upgrade(url, AFTER)
    assert await execute(url, sa.select(*SHOWN).where(NEW.c.id == old_id)) == [
        ("sstober", None, "Two hours left"),
    ]  # fmt: skip
    [(new_id,)] = await execute(url, NEW.insert().returning(NEW.c.id).values(
        kind="once", first_at=T0, channel="group1", text="Laptops", created_by="tutor1",
        created_by_id="t" * 26, created_at=T0, cancelled=False,
    ))  # fmt: skip
    assert await execute(url, sa.select(*SHOWN).where(NEW.c.id == new_id)) == [
        ("tutor1", "t" * 26, "Laptops"),
    ]  # fmt: skip
    await downgrade(url, BEFORE)
    assert await execute(url, sa.select(OLD.c.id, OLD.c.created_by).order_by(OLD.c.id)) == [
        (old_id, "sstober"), (new_id, "tutor1"),
    ]  # fmt: skip
