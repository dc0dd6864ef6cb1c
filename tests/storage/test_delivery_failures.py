"""SqlDeliveryFailures on SQLite and PostgreSQL: which failures still need their author
told (failed outbox rows and failed firings without a `failed:` notice), and the merged
last errors `/idl health` shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.ports.failures import NOTICE_PREFIX
from idlbot.storage.delivery_failures import SqlDeliveryFailures
from idlbot.storage.outbox import SqlOutbox
from idlbot.storage.reminders import SqlReminderStore

T0 = datetime(2018, 10, 22, 9, 0, tzinfo=UTC)
PREFIXES = ("rem:custom:", "announce:")
CHANNEL = "c" * 26


async def fail_post(outbox: SqlOutbox, key: str, error: str, now: datetime) -> None:
    await outbox.enqueue(key=key, message="hi", now=now, channel_id=CHANNEL)
    [item] = [i for i in await outbox.claim_due(now) if i.key == key]
    assert await outbox.mark_failed(item.id, error=error)


async def fail_firing(store: SqlReminderStore, key: str, reason: str, now: datetime) -> None:
    assert await store.claim(
        key=key, kind="custom", fire_at=now, target="~x", now=now, stale=timedelta(minutes=10)
    )
    await store.finish(key, state="failed", reason=reason, now=now)


async def test_unreported_until_a_notice_is_queued(engine: AsyncEngine) -> None:
    outbox, store, failures = SqlOutbox(engine), SqlReminderStore(engine), SqlDeliveryFailures(engine)
    await fail_post(outbox, "rem:custom:1:2018-10-22T10:00", "400 archived", T0)
    await fail_firing(store, "rem:custom:2:2018-10-22T11:00", "no channel ~x", T0 + timedelta(minutes=1))
    await fail_post(outbox, "rem:questions:2018-10-23:-2h", "403 removed", T0)  # no author: not asked
    await fail_post(outbox, "announce:100%", "403", T0 - timedelta(days=9))  # beyond the lookback
    found = await failures.unreported(prefixes=PREFIXES, since=T0 - timedelta(days=7))
    assert [(f.key, f.error) for f in found] == [
        ("rem:custom:1:2018-10-22T10:00", "400 archived"),
        ("rem:custom:2:2018-10-22T11:00", "no channel ~x"),
    ]
    await outbox.enqueue(key=NOTICE_PREFIX + found[0].key, message="n", now=T0, dm_user_id="u" * 26)
    left = await failures.unreported(prefixes=PREFIXES, since=T0 - timedelta(days=7))
    assert [f.key for f in left] == ["rem:custom:2:2018-10-22T11:00"]


async def test_recent_errors_merge_posts_and_firings_newest_first(engine: AsyncEngine) -> None:
    outbox, store, failures = SqlOutbox(engine), SqlReminderStore(engine), SqlDeliveryFailures(engine)
    await fail_post(outbox, "announce:1", "403 removed", T0)
    await fail_firing(store, "rem:custom:2:2018-10-22T11:00", "no channel ~x", T0 + timedelta(minutes=1))
    assert await failures.recent_errors(5) == [
        ("rem:custom:2:2018-10-22T11:00", "no channel ~x"),
        ("announce:1", "403 removed"),
    ]
    assert await failures.recent_errors(1) == [("rem:custom:2:2018-10-22T11:00", "no channel ~x")]
    assert await failures.backlog() == (0, None)
