"""Exclusion transitions on SQL (SQLite and PostgreSQL): stored with the presentation
record under the student's lock, one per transition however many writers race; untouched
by the paths that cannot change exclusion; announced once, and again after a failure."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.domain.gitlab import TagPush
from idlbot.domain.ledger import Student
from idlbot.domain.qualification import evaluate
from idlbot.ports.qualification import RosterEdit
from idlbot.services.exclusion import ExclusionNotifier
from idlbot.services.qualification import QualificationService
from idlbot.storage.db import sessionmaker
from idlbot.storage.exclusion import SqlExclusions
from idlbot.storage.ledger import SqlQualification
from idlbot.storage.models_exclusion import ExclusionChangeRow
from idlbot.storage.models_qualification import StudentRow
from idlbot.storage.outbox import SqlOutbox
from idlbot.storage.roster import SqlRoster
from tests.qualification.support import T0, at, course
from tests.support.fakes import FakePeople


async def _setup(engine: AsyncEngine) -> tuple[QualificationService, SqlQualification, SqlExclusions, int]:
    await SqlRoster(engine).bulk_upsert(
        [Student("carol", gitlab="carol", group_id="g3", team_id="lyrics-b")], now=T0
    )
    sessions = sessionmaker(engine)
    store = SqlQualification(sessions, course())
    async with engine.connect() as conn:
        sid = (await conn.execute(select(StudentRow.id).where(StudentRow.mattermost == "carol"))).scalar_one()
    return QualificationService(store, course()), store, SqlExclusions(sessions), sid


async def _warm(engine: AsyncEngine) -> None:
    """Open two pooled connections on PostgreSQL, so racing transactions really overlap
    (SQLite runs one writer at a time anyway: BEGIN IMMEDIATE)."""
    if engine.dialect.name != "postgresql":
        return
    both = asyncio.Barrier(2)

    async def one() -> None:
        async with engine.connect() as conn:
            await conn.execute(select(1))
            await both.wait()

    await asyncio.gather(one(), one())


async def test_racing_records_of_the_excluding_fail_store_one_transition(engine: AsyncEngine) -> None:
    q, _, exclusions, sid = await _setup(engine)
    await _warm(engine)
    await q.present("carol", "a01", "fail", note=None, by="tutor3", now=at(0))
    actors = ["tutor3", "sstober", "jens", "tutor1", "tutor2", "tutor3", "sstober", "jens"]
    await asyncio.gather(
        *(q.present("carol", "a02", "fail", note=None, by=a, now=at(i + 1)) for i, a in enumerate(actors))
    )
    [change] = await exclusions.history(sid)
    assert (change.seq, change.excluded, change.fails, change.assignment_id) == (1, True, 2, "a02")
    # one of the racing records made it, and `caused_by` names exactly that one
    assert await exclusions.caused_by(change.record_id) == change


async def test_two_different_fails_at_once_exclude_exactly_once(engine: AsyncEngine) -> None:
    """Without the student's lock each writer counts only its own new fail (1 of 2) and
    nobody sees the exclusion; or, a fail later, both see it and take the same number."""
    q, _, exclusions, sid = await _setup(engine)
    await _warm(engine)  # both writers start at once, not one while the other connects
    for round_, (first, second) in enumerate((("a01", "a02"), ("a03", "a04"))):
        await asyncio.gather(
            q.present("carol", first, "fail", note=None, by="tutor3", now=at(2 * round_)),
            q.present("carol", second, "fail", note=None, by="sstober", now=at(2 * round_)),
        )
    assert [(c.seq, c.excluded) for c in await exclusions.history(sid)] == [(1, True)]


async def test_withdrawal_and_a_new_fail_are_new_transitions(engine: AsyncEngine) -> None:
    q, _, exclusions, sid = await _setup(engine)
    await q.present("carol", "a01", "fail", note=None, by="tutor3", now=at(0))
    await q.present("carol", "a02", "fail", note=None, by="tutor3", now=at(1))
    await q.present("carol", "a02", "ok", note="explained it", by="sstober", now=at(2))
    await q.present("carol", "a02", "ok", note=None, by="jens", now=at(3))
    await q.present("carol", "a03", "fail", note=None, by="tutor3", now=at(4))
    history = await exclusions.history(sid)
    assert [(c.seq, c.excluded, c.fails, c.actor) for c in history] == [
        (1, True, 2, "tutor3"), (2, False, 1, "sstober"), (3, True, 2, "tutor3"),
    ]  # fmt: skip


async def test_hand_ins_overrides_paper_and_roster_edits_do_not_change_exclusion(engine: AsyncEngine) -> None:
    """Only presentations (and the limit) decide exclusion; the other writes leave the
    standing's `excluded` and the stored transitions alone."""
    q, store, exclusions, sid = await _setup(engine)
    await q.present("carol", "a01", "fail", note=None, by="tutor3", now=at(0))
    await q.present("carol", "a02", "fail", note=None, by="tutor3", now=at(1))
    await store.record_tag_push(TagPush(1, "idl2018/a/carol", "a03", at(2), "carol"), ["carol"])
    await q.override("carol", "a02", "excused", reason="sick note", by="sstober", now=at(3))
    await q.override("carol", "a01", "on-time", reason="GitLab was down", by="sstober", now=at(4))
    await q.set_group_paper(True, team_id="lyrics-b", by="sstober", now=at(5))
    await q.edit_student("carol", RosterEdit(active=False), by="sstober", now=at(6))
    await q.edit_student("carol", RosterEdit(active=True), by="sstober", now=at(7))
    ledger = await q.ledger_for("carol")
    assert ledger is not None and evaluate(ledger, course(), now=at(8)).excluded
    assert [(c.seq, c.excluded) for c in await exclusions.history(sid)] == [(1, True)]


class FlakyPeople(FakePeople):
    """Mattermost cannot be asked for the first `failures` look-ups."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    async def user_id(self, username: str) -> str | None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("mattermost unreachable")
        return await super().user_id(username)


async def test_notices_are_queued_once_and_retried_when_mattermost_cannot_be_asked(
    engine: AsyncEngine,
) -> None:
    q, _, exclusions, _ = await _setup(engine)
    outbox = SqlOutbox(sessionmaker(engine))
    notifier = ExclusionNotifier(exclusions, outbox, FlakyPeople(failures=1), ("sstober", "jens"))
    await q.present("carol", "a01", "fail", note=None, by="tutor3", now=at(0))
    await q.present("carol", "a02", "fail", note=None, by="tutor3", now=at(1))
    assert await notifier.announce(at(2)) == []  # left for the next pass
    [done] = await notifier.announce(at(3))
    assert (done.student_told, done.instructors_told) == (True, 2)
    assert await notifier.announce(at(4)) == []
    # a crash after queueing, before the mark: the next pass queues under the same keys
    async with engine.begin() as conn:
        await conn.execute(update(ExclusionChangeRow).values(announced_at=None))
    [again] = await ExclusionNotifier(exclusions, outbox, FakePeople(), ("sstober", "jens")).announce(at(5))
    assert again.change == done.change
    queued = await outbox.claim_due(at(10), limit=100)
    assert sorted(i.key for i in queued) == sorted(
        f"exclusion:{done.change.student_key}:1:{who}" for who in ("student", "sstober", "jens")
    )
