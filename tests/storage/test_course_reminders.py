"""Two courses, "main" and "nlp", on ONE database (SQLite and PostgreSQL): reminder
firings, custom reminders, mutes, calendar tokens and announcements of one course are
invisible to, and untouched by, the other's store, under the same keys, users and ids."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.storage.announce import SqlAnnouncementStore
from idlbot.storage.reminders import SqlReminderStore, calendar_course

T0 = datetime(2018, 10, 23, 11, 15, tzinfo=UTC)
STALE = timedelta(minutes=10)
KEY = "rem:assignment:ex03:-2d"
ALICE = "u" + "a" * 25


def _stores(engine: AsyncEngine) -> tuple[SqlReminderStore, SqlReminderStore]:
    return SqlReminderStore(engine), SqlReminderStore(engine, course="nlp")


async def _claim(store: SqlReminderStore, now: datetime = T0) -> bool:
    return await store.claim(key=KEY, kind="assignment", fire_at=T0, target="#town", now=now, stale=STALE)


async def test_each_course_claims_the_same_key_once(engine: AsyncEngine) -> None:
    main, nlp = _stores(engine)
    main1, nlp1, main2, nlp2 = await asyncio.gather(_claim(main), _claim(nlp), _claim(main), _claim(nlp))
    assert {main1, main2} == {True, False} and {nlp1, nlp2} == {True, False}
    await main.finish(KEY, state="sent", reason="posted", now=T0, outbox_key="o1", fanout=3)
    assert (await main.states(since=T0))[KEY].state == "sent"
    assert (await nlp.states(since=T0))[KEY].state == "claimed"
    assert [(r.key, r.state, r.fanout) for r in await main.log()] == [(KEY, "sent", 3)]
    assert [(r.key, r.state, r.fanout) for r in await nlp.log()] == [(KEY, "claimed", 0)]


async def test_a_stale_claim_is_taken_over_in_its_own_course_only(engine: AsyncEngine) -> None:
    main, nlp = _stores(engine)
    assert await _claim(main)
    later = T0 + STALE + timedelta(seconds=1)
    assert await _claim(nlp, later)  # a fresh claim of its own, not a takeover of main's
    assert not await _claim(nlp, later)  # nlp's claim is new, so not stale
    assert await _claim(main, later)  # main's is stale: taken over
    await nlp.finish(KEY, state="skipped", reason="holiday", now=later)
    assert (await main.states(since=T0))[KEY].state == "claimed"


async def test_custom_reminders_are_seen_and_cancelled_in_their_course(engine: AsyncEngine) -> None:
    main, nlp = _stores(engine)
    mine = await main.add_custom(
        kind="weekly", first=T0, channel="town-square", text="Hand in!", created_by="tutor1",
        created_by_id=ALICE, now=T0,
    )  # fmt: skip
    theirs = await nlp.add_custom(
        kind="once", first=T0, channel="town-square", text="Read ch. 3", created_by="tutor1",
        created_by_id=ALICE, now=T0,
    )  # fmt: skip
    assert [c.id for c in await main.customs()] == [mine.id]
    assert [c.id for c in await nlp.customs(include_cancelled=True)] == [theirs.id]
    assert await nlp.custom(mine.id) is None and await main.custom(theirs.id) is None
    assert await nlp.cancel_custom(mine.id) is None
    assert await main.custom(mine.id) == mine
    cancelled = await main.cancel_custom(mine.id)
    assert cancelled is not None and cancelled.cancelled
    assert [c.id for c in await nlp.customs()] == [theirs.id]


async def test_a_user_mutes_each_course_separately(engine: AsyncEngine) -> None:
    main, nlp = _stores(engine)
    await main.set_muted(ALICE, "nudges", True, T0)
    assert await main.muted("nudges") == {ALICE} and await nlp.muted("nudges") == set()
    await nlp.set_muted(ALICE, "nudges", True, T0)
    await nlp.set_muted(ALICE, "nudges", True, T0)  # twice: still one row
    await main.set_muted(ALICE, "nudges", False, T0)
    assert await main.muted("nudges") == set() and await nlp.muted("nudges") == {ALICE}


async def test_a_user_has_a_calendar_token_per_course(engine: AsyncEngine) -> None:
    main, nlp = _stores(engine)
    in_main = await main.calendar_token(ALICE, "alice", T0)
    in_nlp = await nlp.calendar_token(ALICE, "alice", T0)
    assert in_main != in_nlp and await main.calendar_token(ALICE, "alice", T0) == in_main
    assert await main.calendar_user(in_main) == (ALICE, "alice")
    assert await main.calendar_user(in_nlp) is None and await nlp.calendar_user(in_main) is None
    assert await calendar_course(engine, in_main) == "main"
    assert await calendar_course(engine, in_nlp) == "nlp"
    assert await calendar_course(engine, "no-such-token-at-all") is None

    renewed = await nlp.calendar_token(ALICE, "alice", T0, reset=True)
    assert renewed != in_nlp and await calendar_course(engine, in_nlp) is None
    assert await calendar_course(engine, renewed) == "nlp"
    assert await main.calendar_token(ALICE, "alice", T0) == in_main


async def test_announcements_act_in_their_course_only(engine: AsyncEngine) -> None:
    main, nlp = SqlAnnouncementStore(engine), SqlAnnouncementStore(engine, course="nlp")

    async def draft(store: SqlAnnouncementStore, text: str) -> int:
        made = await store.add_draft(
            channel_id="c" * 26, channel_name="town-square", text=text, notify="channel",
            post_at=T0 + timedelta(hours=1), by="sstober", by_id=ALICE, token="tok-" + text, now=T0,
        )  # fmt: skip
        return made.id

    mine, theirs = await draft(main, "main"), await draft(nlp, "nlp")
    assert await nlp.get(mine) is None and await nlp.announcement(mine) is None
    found = await main.get(mine)
    assert found is not None and (found[0].text, found[1]) == ("main", "tok-main")
    later = T0 + timedelta(hours=2)
    assert not await nlp.transition(mine, from_states=("draft",), to="scheduled", now=T0)
    assert await main.transition(mine, from_states=("draft",), to="scheduled", now=T0)
    assert await nlp.transition(theirs, from_states=("draft",), to="scheduled", now=T0)
    assert [a.id for a in await main.scheduled()] == [mine]
    assert [a.id for a in await nlp.due(later)] == [theirs]
    assert await main.transition(mine, from_states=("scheduled",), to="cancelled", now=T0)
    assert await main.due(later) == [] and [a.id for a in await nlp.scheduled()] == [theirs]
