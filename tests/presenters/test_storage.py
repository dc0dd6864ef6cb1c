"""The rota's records on SQLite and PostgreSQL: one proposal per team and class day
however many processes propose, recording twice is a no-op, and a team's record joins
the roster, the presentations, the proposals and the team's report pages."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from sqlalchemy import func, select, update

from idlbot.domain.gitlab import WikiCreation
from idlbot.domain.ledger import Student
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.ledger import SqlLedger
from idlbot.storage.models_presenters import ProposalRow
from idlbot.storage.models_qualification import StudentRow
from idlbot.storage.presenters import SqlPresenters
from idlbot.storage.roster import SqlRoster
from tests.qualification.support import course

T0 = datetime(2018, 10, 15, 9, 0, tzinfo=UTC)
DAY = date(2018, 10, 17)


async def _roster(url: str) -> None:
    engine = create_engine(url)
    try:
        await SqlRoster(engine).bulk_upsert(
            [
                Student("alice", gitlab="alice-gl", team_id="lyrics-a"),
                Student("bob", gitlab="bob-gl", team_id="lyrics-a"),
                Student("carol", team_id="lyrics-a"),
                Student("dave", team_id="lyrics-b"),
            ],
            now=T0,
        )
        async with engine.begin() as conn:  # carol left the course
            await conn.execute(
                update(StudentRow).where(StudentRow.mattermost == "carol").values(active=False)
            )
    finally:
        await engine.dispose()


async def test_two_processes_propose_once(db_url: str) -> None:
    await _roster(db_url)
    first, second = create_engine(db_url), create_engine(db_url)  # two processes' engines
    try:
        a, b = SqlPresenters(sessionmaker(first)), SqlPresenters(sessionmaker(second))
        stored = await asyncio.gather(
            a.propose("lyrics-a", DAY, "alice", now=T0), b.propose("lyrics-a", DAY, "bob", now=T0)
        )
        assert stored[0] == stored[1] and stored[0] in {"alice", "bob"}
        assert await a.propose("lyrics-a", DAY, "bob", now=T0) == stored[0]  # a restart: the same
        async with first.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(ProposalRow))).scalar() == 1
        record = await a.team("lyrics-a")
        assert [(p.day, p.student) for p in record.proposals] == [(DAY, stored[0])]
    finally:
        await first.dispose()
        await second.dispose()


async def test_recording_twice_is_a_no_op_and_the_team_record_has_it_all(db_url: str) -> None:
    await _roster(db_url)
    engine = create_engine(db_url)
    try:
        store = SqlPresenters(sessionmaker(engine))
        made = await store.record("lyrics-a", "alice", DAY, by="tutor1", now=T0)
        again = await store.record("lyrics-a", "alice", DAY, by="sstober", now=T0.replace(hour=10))
        assert made is not None and made.created and made.record.by == "tutor1"
        assert again is not None and not again.created and again.record.by == "tutor1"
        assert again.record.at == T0
        assert await store.record("lyrics-a", "nobody", DAY, by="tutor1", now=T0) is None
        ledger = SqlLedger(engine, course())
        for slug, author, at in (
            ("teams/lyrics-a/week-2", "bob-gl", datetime(2018, 10, 16, 18, tzinfo=UTC)),
            ("teams/lyrics-a/week-2", "alice-gl", datetime(2018, 10, 16, 19, tzinfo=UTC)),
            ("teams/lyrics-b/week-2", "alice-gl", datetime(2018, 10, 16, 19, tzinfo=UTC)),
        ):
            await ledger.record_wiki_creation(WikiCreation(slug, "w", author, at), course(), "blog")
        record = await store.team("lyrics-a")
        assert record.members == ("alice", "bob")  # carol left the course
        assert [(p.student, p.day, p.by) for p in record.presented] == [("alice", DAY, "tutor1")]
        assert record.not_presented() == ("bob",)
        assert [slug for slug, _ in record.reports] == ["teams/lyrics-a/week-2"]
        assert [s.mattermost for s in await store.members("lyrics-b")] == ["dave"]
    finally:
        await engine.dispose()
