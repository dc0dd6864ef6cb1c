"""Revision 0007 on SQLite and PostgreSQL: the rows of `seen_events` and
`agenda_hook_keys` reach `delivery_keys` under the scopes the two paths use, so a resend
after the upgrade is still dropped; the downgrade puts every row back where it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from idlbot.services import agenda, qualification_sync
from idlbot.storage.db import create_engine, downgrade, upgrade
from idlbot.storage.deliveries import SqlDeliveryKeys
from tests.migrations.support import tables as table_names

T0 = datetime(2018, 10, 22, 9, 0, tzinfo=UTC)
BEFORE, AFTER = "0006_jobs", "0007_delivery_keys"

LEDGER_ROWS = [("push-1", T0), ("wiki-2", T0 + timedelta(hours=1)), ("shared", T0 + timedelta(hours=2))]
AGENDA_ROWS = [("emoji-1", T0 + timedelta(days=1)), ("shared", T0 + timedelta(days=2))]


def _table(name: str) -> sa.TableClause:
    # the old tables are gone from the models; described here as 0002 and 0004 made them
    return sa.table(name, sa.column("key", sa.String), sa.column("seen_at", sa.DateTime(timezone=True)))


DELIVERY_KEYS = sa.table(
    "delivery_keys", sa.column("scope", sa.String), sa.column("key", sa.String),
    sa.column("seen_at", sa.DateTime(timezone=True)),
)  # fmt: skip


async def _rows(url: str, table: sa.TableClause) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(sa.select(*table.c))).all()]
    finally:
        await engine.dispose()


def _utc(value: Any) -> datetime:
    """SQLite hands the raw column back naive (it stores naive UTC), PostgreSQL aware."""
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def test_rows_are_copied_up_and_back_down(empty_db_url: str) -> None:
    url = empty_db_url
    await upgrade(url, BEFORE)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for name, rows in (("seen_events", LEDGER_ROWS), ("agenda_hook_keys", AGENDA_ROWS)):
                naive = conn.dialect.name == "sqlite"  # as UtcDateTime stores them there
                values = [{"key": k, "seen_at": at.replace(tzinfo=None) if naive else at} for k, at in rows]
                await conn.execute(sa.insert(_table(name)), values)
    finally:
        await engine.dispose()

    await upgrade(url, AFTER)
    tables = await table_names(url)
    assert {"delivery_keys", "dm_channels"} <= tables
    assert not {"seen_events", "agenda_hook_keys"} & tables
    copied = await _rows(url, DELIVERY_KEYS)
    expected = {(qualification_sync.HOOK_SCOPE, k, at) for k, at in LEDGER_ROWS}
    expected |= {(agenda.HOOK_SCOPE, k, at) for k, at in AGENDA_ROWS}
    assert {(scope, key, _utc(at)) for scope, key, at in copied} == expected
    assert len(copied) == 5  # "shared" twice: one per scope, as before

    engine = create_engine(url)
    try:  # what the services will ask: a resend of a delivery handled before the upgrade
        keys = SqlDeliveryKeys(engine)
        assert await keys.seen(qualification_sync.HOOK_SCOPE, "push-1", T0 + timedelta(days=3))
        assert await keys.seen(agenda.HOOK_SCOPE, "emoji-1", T0 + timedelta(days=3))
        assert not await keys.seen(agenda.HOOK_SCOPE, "push-1", T0 + timedelta(days=3))  # new in this scope
    finally:
        await engine.dispose()

    await downgrade(url, BEFORE)
    tables = await table_names(url)
    assert not {"delivery_keys", "dm_channels"} & tables
    ledger = await _rows(url, _table("seen_events"))
    hooks = await _rows(url, _table("agenda_hook_keys"))
    assert {(k, _utc(at)) for k, at in ledger} == set(LEDGER_ROWS)
    # the agenda scope gained "push-1" above; it goes back with the rest of that scope
    assert {(k, _utc(at)) for k, at in hooks} == {*AGENDA_ROWS, ("push-1", T0 + timedelta(days=3))}

    await upgrade(url)  # and up again to head
    assert {"delivery_keys", "dm_channels"} <= await table_names(url)
