"""The early warnings on SQLite and PostgreSQL: a change is stored once (compare-and-set
on the student's sequence), told once under `warn:<student>:<seq>`, also when two checks
run at once on two engines (two processes) or again after a crash before the marking."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.domain.ledger import HandIn, Student, StudentLedger
from idlbot.services.early_warnings import EarlyWarnings
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.models import OutboxRow
from idlbot.storage.outbox import SqlOutbox
from idlbot.storage.roster import SqlRoster
from idlbot.storage.warnings import SqlWarnings
from tests.unit.course_2018 import course_2018

COURSE = course_2018()
A01 = COURSE.assignments[0].due
NOW = A01 + timedelta(minutes=5)  # bob missed a01: he can miss no more
ANN, BOB = Student("ann", group_id="g1"), Student("bob", group_id="g2")


class Ledgers:
    def __init__(self) -> None:
        self.on_time: dict[str, set[str]] = {"ann": {"a01"}, "bob": set()}

    async def all_ledgers(self, group_id: str | None = None) -> list[StudentLedger]:
        return [
            StudentLedger(
                s, tuple(HandIn(a, "on-time", None, "override") for a in sorted(self.on_time[s.mattermost]))
            )
            for s in (ANN, BOB)
        ]


class People:
    """The `Directory` port; `batches` counts the many-at-once lookups."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.singles = 0

    async def user_id(self, username: str) -> str | None:
        self.singles += 1
        return None if username == "ghost" else f"id-{username}"

    async def user_ids(self, usernames: Iterable[str]) -> dict[str, str]:
        names = sorted(set(usernames))
        self.batches.append(names)
        return {n: f"id-{n}" for n in names if n != "ghost"}


async def _seed(engine: AsyncEngine) -> None:
    roster = SqlRoster(sessionmaker(engine))
    for student in (ANN, BOB):
        await roster.upsert(student, now=NOW)


def warnings(engine: AsyncEngine, ledgers: Ledgers) -> EarlyWarnings:
    sessions = sessionmaker(engine)
    return EarlyWarnings(
        SqlWarnings(sessions), ledgers, SqlOutbox(sessions), People(), COURSE, ("sstober", "jens")
    )


async def _dms(engine: AsyncEngine) -> list[tuple[str, str | None, str]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(OutboxRow).order_by(OutboxRow.id))).all()
    return [(r.key, r.dm_user_id, r.message) for r in rows]


async def test_a_change_is_stored_and_told_once_and_back_on_track_is_told_too(engine: AsyncEngine) -> None:
    await _seed(engine)
    ledgers = Ledgers()
    service = warnings(engine, ledgers)
    told = await service.check(NOW)
    assert [(c.student, c.seq, c.state, c.previous) for c in told] == [("bob", 1, "last-chance", "ok")]
    assert await service.check(NOW + timedelta(minutes=1)) == []
    [(key, user, text)] = await _dms(engine)
    assert key.startswith("warn:") and key.endswith(":1") and user == "id-bob"
    assert "you can miss no more assignments" in text and "@\u200btutor2" in text
    ledgers.on_time["bob"].add("a01")  # an instructor's override: on time after all
    [back] = await service.check(NOW + timedelta(hours=1))
    assert (back.seq, back.state, back.previous) == (2, "ok", "last-chance")
    assert "back on track" in (await _dms(engine))[-1][2]
    history = await SqlWarnings(sessionmaker(engine)).history("bob")
    assert [(c.seq, c.state) for c in history] == [(1, "last-chance"), (2, "ok")]
    assert all(c.forecast for c in history)


async def test_two_checks_at_once_on_two_engines_store_and_tell_once(db_url: str) -> None:
    one, two = create_engine(db_url), create_engine(db_url)
    try:
        await _seed(one)
        results = await asyncio.gather(
            warnings(one, Ledgers()).check(NOW), warnings(two, Ledgers()).check(NOW)
        )
        store = SqlWarnings(sessionmaker(one))
        assert [(c.seq, c.state) for c in await store.history("bob")] == [(1, "last-chance")]
        assert await store.history("ann") == []
        assert len(await _dms(one)) == 1
        assert sum(len(r) for r in results) in (1, 2)  # both may queue it: the outbox keeps one
    finally:
        await one.dispose()
        await two.dispose()


async def test_a_crash_before_the_marking_tells_it_once_at_the_next_pass(engine: AsyncEngine) -> None:
    await _seed(engine)
    store = SqlWarnings(sessionmaker(engine))
    change = await store.record("bob", "unreachable", forecast="Out of reach.", now=NOW)
    assert change is not None and change.seq == 1
    assert await store.record("bob", "unreachable", forecast="again", now=NOW) is None
    assert await store.record("nobody", "unreachable", forecast="x", now=NOW) is None
    assert [c.seq for c in await store.unannounced()] == [1]
    # the first pass queued the DM and died before marking it announced
    key = f"warn:{change.student_key}:1"
    await SqlOutbox(sessionmaker(engine)).enqueue(key=key, message="queued", now=NOW, dm_user_id="id-bob")
    await warnings(engine, Ledgers()).announce(NOW)
    assert await store.unannounced() == []
    assert [k for k, _, _ in await _dms(engine)] == [key]
    assert (await store.latest())["bob"].state == "unreachable"


async def test_outside_the_term_nothing_is_checked(engine: AsyncEngine) -> None:
    await _seed(engine)
    service = warnings(engine, Ledgers())
    assert await service.check(datetime(2019, 3, 1, tzinfo=NOW.tzinfo)) == []
    assert await SqlWarnings(sessionmaker(engine)).latest() == {}


async def test_many_warnings_look_their_accounts_up_in_one_batch(engine: AsyncEngine) -> None:
    """The first check after a deadline may warn most of the course at once: the accounts
    are asked together (one `POST /users/usernames` per hundred names), not one `GET` each.
    A name Mattermost does not know gets no DM and is still marked told."""
    names = [f"s{n:02d}" for n in range(30)] + ["ghost"]
    roster = SqlRoster(sessionmaker(engine))
    for name in names:
        await roster.upsert(Student(name, group_id="g1"), now=NOW)

    class Missed:
        async def all_ledgers(self, group_id: str | None = None) -> list[StudentLedger]:
            return [StudentLedger(Student(n, group_id="g1"), ()) for n in names]

    people = People()
    sessions = sessionmaker(engine)
    service = EarlyWarnings(SqlWarnings(sessions), Missed(), SqlOutbox(sessions), people, COURSE, ())
    told = await service.check(NOW)
    assert sorted(c.student for c in told) == names[:-1]
    assert people.batches == [sorted(names)] and people.singles == 0
    assert {user for _, user, _ in await _dms(engine)} == {f"id-{n}" for n in names[:-1]}
    assert await service.check(NOW + timedelta(minutes=1)) == []
    assert people.batches == [sorted(names)]  # nothing left to tell: nothing asked
