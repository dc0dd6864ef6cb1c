"""Acceptance: `/idl status` issues one SQL statement, and the overview's reads a
constant number, whatever the course size (no N+1). Counted on the engine with
before_cursor_execute; SQLite's `BEGIN IMMEDIATE` (which that hook also sees, while
asyncpg's BEGIN does not show) is left out, so both databases count the same."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.clock import FakeClock
from idlbot.commands import build_registry
from idlbot.commands.context import Context, Ports, User
from idlbot.domain.gitlab import TagPush, WikiCreation
from idlbot.domain.ledger import Student
from idlbot.domain.roles import Role
from idlbot.services.qualification import QualificationService
from idlbot.storage.ledger import SqlLedger, SqlQualification
from idlbot.storage.presenters import SqlPresenters
from idlbot.storage.roster import SqlRoster
from tests.qualification.support import T0, at, course
from tests.support.statements import counting

CLASS = date(2018, 10, 17)


async def _course_of(engine: AsyncEngine, size: int) -> SqlLedger:
    """`size` students with hand-ins, presentations, posts, overrides and a team paper each."""
    c = course()
    teams = [t.id for t in c.teams]
    students = [
        Student(f"s{n:04d}", gitlab=f"g{n:04d}", group_id=f"g{1 + n % 3}", team_id=teams[n % 2])
        for n in range(size)
    ]
    counts = await SqlRoster(engine).bulk_upsert(students, now=T0)
    assert counts.created == size
    ledger = SqlLedger(engine, c)
    for n in range(size):
        who = students[n]
        assert who.gitlab is not None
        await ledger.record_tag_push(TagPush(n, f"idl2018/a/r{n}", "a01", at(n), who.gitlab), [who.gitlab])
        await ledger.record_wiki_creation(
            WikiCreation(f"blog/{who.gitlab}/w1", "w1", who.gitlab, at(n)), c, "blog"
        )
        await ledger.present(who.mattermost, "a01", "ok", note=None, by="tutor1", now=at(n))
        if n % 5 == 0:
            await ledger.override(who.mattermost, "a02", "excused", reason="sick", by="stober", now=at(n))
        if n % 4 == 1:  # presented the team's progress (the presenter rota's rule reads it)
            assert who.team_id is not None
            await SqlPresenters(engine).record(who.team_id, who.mattermost, CLASS, by="tutor1", now=at(n))
    await ledger.set_group_paper(True, team_id="lyrics-a", by="stober", now=at(0))
    return ledger


async def _status(engine: AsyncEngine, name: str) -> str:
    """`/idl status` as the student `name` asks it, through the registry and the service."""
    c = course()
    ports = Ports(qualification=QualificationService(SqlQualification(engine, c), c))
    user = User(id="u" * 26, username=name, role=Role.STUDENT, tz=ZoneInfo("Europe/Berlin"))
    ctx = Context(user=user, channel_id="c" * 26, via="slash", clock=FakeClock(at(600)),
                  course=c, ports=ports)  # fmt: skip
    return (await build_registry().run(ctx, "status")).text


async def _measure(engine: AsyncEngine, ledger: SqlLedger, size: int) -> tuple[int, int, int, int]:
    with counting(engine) as status:
        text = await _status(engine, "s0001")
    assert text.startswith("#### Exam qualification: you") and "a01: on time" in text, text
    with counting(engine) as one:
        found = await ledger.ledger_for("s0001")
    assert found is not None and len(found.hand_ins) == 1 and len(found.posts) == 1
    assert found.progress_presented == (CLASS,)
    assert found.team_waiting == len([n for n in range(size) if n % 4 == 3])  # lyrics-b, never presented
    with counting(engine) as every:
        ledgers = await ledger.all_ledgers()
    assert len(ledgers) == size
    assert all(lg.hand_ins and lg.presentations and lg.posts for lg in ledgers)
    assert [lg.student.mattermost for lg in ledgers if lg.progress_presented] == [
        f"s{n:04d}" for n in range(size) if n % 4 == 1
    ]
    assert {lg.team_waiting for lg in ledgers if lg.student.team_id == "lyrics-b"} == {found.team_waiting}
    with counting(engine) as group:
        assert len(await ledger.all_ledgers("g1")) == len([n for n in range(size) if n % 3 == 0])
    return len(status), len(one), len(every), len(group)


async def test_ledger_reads_are_constant_in_course_size(engine: AsyncEngine) -> None:
    small = await _course_of(engine, 5)
    small_counts = await _measure(engine, small, 5)
    async with engine.begin() as conn:  # start over in the same database
        from idlbot.storage.schema import metadata

        for table in reversed(metadata.sorted_tables):
            if table.name in {
                "hand_ins",
                "overrides",
                "presentations",
                "wiki_posts",
                "group_papers",
                "team_presentations",
                "audit",
                "students",
            }:
                await conn.execute(table.delete())
    large = await _course_of(engine, 500)
    large_counts = await _measure(engine, large, 500)
    print(
        f"\n[{engine.dialect.name}] SQL statements (status, ledger_for, all_ledgers, all_ledgers(group)): "
        f"5 students {small_counts}, 500 students {large_counts}"
    )
    assert small_counts == large_counts
    status, one, every, group = large_counts
    assert status == one == 1  # roster entry and every record of one student, in one statement
    assert every == group <= 7  # students + one per record table + the presenter rota's
