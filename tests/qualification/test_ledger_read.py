"""`ledger_for` (one UNION ALL, what `/idl status` reads) gives exactly the ledger that
`all_ledgers` (one statement per table, what the overview reads) gives for the same
student: every record kind, overrides over pushes, a student's paper over the team's,
records in time order. Both databases (the `engine` fixture)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.domain.gitlab import TagPush, WikiCreation
from idlbot.domain.ledger import Student
from idlbot.storage._dialect import transaction
from idlbot.storage.db import sessionmaker
from idlbot.storage.ledger import SqlLedger
from idlbot.storage.roster import SqlRoster
from tests.qualification.support import T0, at, course


async def _world(engine: AsyncEngine) -> SqlLedger:
    c = course()
    students = [
        Student("alice", gitlab="alice", group_id="g1", team_id="lyrics-a"),
        Student("bob", gitlab="bob", group_id="g2", team_id="lyrics-a"),
        Student("carol", gitlab="carol", group_id="g3", team_id="lyrics-b"),
        Student("dave", gitlab="dave", group_id="g1"),  # no team, nothing recorded
    ]
    await SqlRoster(engine).bulk_upsert(students, now=T0)
    ledger = SqlLedger(engine, c)
    for n, (who, aid, minutes) in enumerate(
        [("alice", "a01", 0), ("alice", "a02", 60 * 24 * 9), ("bob", "a01", 60 * 20), ("carol", "a03", 5)]
    ):
        await ledger.record_tag_push(TagPush(n, f"idl2018/a/{who}", aid, at(minutes), who), [who])
    await ledger.record_tag_push(TagPush(9, "idl2018/a/x", "zz-unknown", at(3), "bob"), ["bob"])
    await ledger.override("alice", "a02", "on-time", reason="server down", by="stober", now=at(100))
    await ledger.override("bob", "a03", "excused", reason="sick", by="stober", now=at(101))
    await ledger.present("alice", "a02", "fail", note="could not explain", by="tutor1", now=at(300))
    await ledger.present("alice", "a01", "ok", note=None, by="tutor1", now=at(200))
    await ledger.present("carol", "a03", "fail", note=None, by="tutor2", now=at(200))
    for slug, author, minutes in [
        ("blog/alice/week-2", "alice", 50),
        ("blog/alice/week-1", "alice", 10),
        ("teams/lyrics-a/sprint-1", "bob", 20),
    ]:
        page = WikiCreation(slug, slug.rsplit("/", 1)[-1], author, at(minutes))
        assert await ledger.record_wiki_creation(page, c, "blog")
    await ledger.set_group_paper(True, team_id="lyrics-a", by="stober", now=at(400))
    await ledger.set_group_paper(
        False, mattermost="bob", reason="did not contribute", by="stober", now=at(401)
    )
    return ledger


async def test_one_statement_read_equals_the_per_table_read(engine: AsyncEngine) -> None:
    ledger = await _world(engine)
    every = {lg.student.mattermost: lg for lg in await ledger.all_ledgers()}
    assert set(every) == {"alice", "bob", "carol", "dave"}
    for name, expected in every.items():
        assert await ledger.ledger_for(name) == expected, name
        assert await ledger.ledger_for(f" @{name.upper()} ") == expected  # as typed in chat
    alice, bob = every["alice"], every["bob"]
    assert [(h.assignment_id, h.source, h.status) for h in alice.hand_ins] == [
        ("a01", "gitlab", "on-time"),
        ("a02", "override", "on-time"),
    ]
    assert [p.assignment_id for p in alice.presentations] == ["a01", "a02"]  # by time
    assert [p.slug for p in alice.posts] == ["blog/alice/week-1", "blog/alice/week-2"]
    assert alice.group_paper is True and bob.group_paper is False and every["carol"].group_paper is None
    assert bob.hand_ins[-1].assignment_id == "zz-unknown"  # an id the course does not know comes last
    assert await ledger.ledger_for("zoe") is None


async def test_status_and_overview_reads_do_not_wait_for_an_open_write(engine: AsyncEngine) -> None:
    """The ledger reads (`/idl status`, the overview, the audit) go without the SQLite
    writer lock: while a tutor's record is being written they answer from the last
    committed state (before, they queued behind the writer)."""
    ledger = await _world(engine)
    writing, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with transaction(sessionmaker(engine)) as conn:
            await conn.execute(text("UPDATE students SET group_id = 'g2' WHERE mattermost = 'alice'"))
            writing.set()
            await release.wait()

    held = asyncio.create_task(writer())
    await asyncio.wait_for(writing.wait(), 5)
    try:
        alice = await asyncio.wait_for(ledger.ledger_for("alice"), 2.0)
        everyone = await asyncio.wait_for(ledger.all_ledgers(), 2.0)
        trail = await asyncio.wait_for(ledger.audit_for(mattermost="alice"), 2.0)
    finally:
        release.set()
        await held
    assert alice is not None and alice.student.group_id == "g1"  # not the half-written g2
    assert len(everyone) == 4 and trail
