"""Issue 12, item 3: replies built from what the bot knows (the roster and the ledger),
through the real bot and the Mattermost simulator, as a student, a tutor and an
instructor would type them.

The roster has alice (g1) and bob (g2); carol is a Mattermost user the roster does not
have. The bot's clock is Mon 22 Oct 2018, 09:00 Berlin, flowing: a01 was due Tue 16 Oct."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from idlbot.domain.defuse import defuse
from idlbot.domain.gitlab import TagPush
from idlbot.domain.ledger import Student
from tests.app.conftest import Harness, make_harness

ROSTER = [
    Student(mattermost="alice", gitlab="alice-gl", cluster="al123", group_id="g1", team_id="lyrics-a"),
    Student(mattermost="bob", gitlab="bob-gl", group_id="g2", team_id="lyrics-b"),
]
BERLIN = ZoneInfo("Europe/Berlin")
YOU = re.compile(r"\byou(r)?\b", re.IGNORECASE)


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[Harness]:
    h = await make_harness(db_url)
    bot = await h.start_bot()
    for student in ROSTER:
        await bot.roster.upsert(student, now=bot.clock.now())
    try:
        yield h
    finally:
        await h.close()


async def text(h: Harness, user: str, command: str) -> str:
    return str((await h.slash(user, command))["text"])


async def test_whoami_shows_the_roster_entry(world: Harness) -> None:
    alice = await text(world, "alice", "/idl whoami")
    assert alice.startswith("You are @alice, a student.")
    for line in (
        "Exercise group: Exercise group 1 (g1), Thursdays 13:00\u201315:00 in G29-K058, tutor @\u200btutor1.",
        "Project team: lyrics-a, Team A (sung lyrics).",
        f"GitLab: {defuse('alice-gl')}.",
        "Cluster: al123.",
        "Roster entry: active.",
    ):
        assert line in alice.splitlines(), (line, alice)
    assert "not known yet" not in alice and "not linked" not in alice

    bob = await text(world, "bob", "/idl whoami")
    assert "Cluster: not linked, so I cannot DM you about your jobs." in bob

    # the same entry staff see, and a change they make shows at once
    assert "active=no" not in await text(world, "sstober", "/idl roster @alice active=no")
    assert "Roster entry: inactive (taken out of the course)" in await text(world, "alice", "/idl whoami")


async def test_whoami_tells_someone_not_on_the_roster_what_to_do(world: Harness) -> None:
    carol = await text(world, "carol", "/idl whoami")
    assert carol.startswith("You are @carol, a student.")
    assert "you are not in the course roster" in carol
    assert "Ask your tutor or an instructor to add you" in carol
    staff = await text(world, "tutor1", "/idl whoami")
    assert "Exercise groups you tutor: Exercise group 1 (G29-K058)." in staff
    assert "roster" not in staff.lower()  # staff are not students: no "ask staff to add you"


def sessions(reply: str) -> set[str]:
    return {name for name in ("Exercise group 1", "Exercise group 2", "Exercise group 3") if name in reply}


async def test_deadlines_show_a_student_their_own_groups_sessions(world: Harness) -> None:
    alice = await text(world, "alice", "/idl deadlines 12")
    assert sessions(alice) == {"Exercise group 1"}, alice
    assert "a02" in alice  # assignment deadlines concern everyone
    assert "`/idl deadlines all` shows every group's." in alice
    assert sessions(await text(world, "alice", "/idl deadlines all 12")) == {
        "Exercise group 1",
        "Exercise group 2",
        "Exercise group 3",
    }
    assert sessions(await text(world, "bob", "/idl deadlines 12")) == {"Exercise group 2"}
    assert sessions(await text(world, "tutor1", "/idl deadlines 12")) == {"Exercise group 1"}
    assert len(sessions(await text(world, "sstober", "/idl deadlines 12"))) == 3
    carol = await text(world, "carol", "/idl deadlines 12")
    assert len(sessions(carol)) == 3 and "as you are not in the course roster" in carol
    # the help's example is what a student gets
    assert "`/idl deadlines all 5`" in await text(world, "alice", "/idl help deadlines")


async def test_status_shows_when_an_override_was_recorded_not_the_push(world: Harness) -> None:
    bot = world.bot
    pushed = datetime(2018, 10, 17, 10, 0, tzinfo=BERLIN)  # Wed 17 Oct: a01 is late
    push = TagPush(7, "idl2018/assignments/alice", "a01", pushed, "alice-gl")
    await bot.qualification.record_tag_push(push, ["alice-gl"])
    assert "a01: late (pushed Wed 17 Oct" in await text(world, "alice", "/idl status")
    recorded = await text(world, "sstober", '/idl record a01 @alice on-time --reason "GitLab was down"')
    assert recorded.startswith("a01 for @alice: late")
    audit = await bot.qualification.audit(mattermost="alice", limit=1)
    when = audit[0].at.astimezone(BERLIN)
    assert when.date().isoformat() == "2018-10-22"
    line = next(x for x in (await text(world, "alice", "/idl status")).splitlines() if "a01:" in x)
    assert f"set by sstober on Mon 22 Oct 2018, {when:%H:%M}" in line, line
    assert "17 Oct" not in line


async def test_staff_read_a_students_status_in_the_third_person(world: Harness) -> None:
    for staff in ("tutor1", "sstober"):
        reply = await text(world, staff, "/idl status @alice")
        assert reply.startswith("#### Exam qualification: @\u200balice"), reply
        assert not YOU.search(reply), reply
        assert "alice must hand in all of the remaining" in reply
        assert "exclude alice from the exam" in reply
    own = await text(world, "alice", "/idl status")
    assert "you must hand in all of the remaining" in own and "exclude you from the exam" in own


async def test_a_command_above_the_role_is_refused_naming_the_role(world: Harness) -> None:
    refusal = "`/idl record` is for tutors and instructors; you are a student."
    assert await text(world, "alice", "/idl help record") == refusal
    assert await text(world, "alice", '/idl record a01 @alice on-time --reason "x"') == refusal
    tutor = await text(world, "tutor1", "/idl help export")
    assert tutor == "`/idl export` is for instructors; you are a tutor."
    assert await world.dm("alice", "help record") == refusal
    # an unknown command still gets "did you mean", but never a command the user may not run
    typo = await text(world, "alice", "/idl recrd")
    assert "I don't know the command" in typo and "/idl record`" not in typo
    assert "/idl record`" not in await text(world, "alice", "/idl help recrd")
    assert "Did you mean `/idl record`" in await text(world, "tutor1", "/idl recrd")


async def test_extra_arguments_are_an_error_that_shows_the_usage(world: Harness) -> None:
    both = await text(world, "sstober", "/idl status @alice @bob")
    assert both.startswith("Usage: `/idl status [@student]`."), both
    assert "@\u200bbob" in both and "Exam qualification" not in both
    assert (await text(world, "alice", "/idl whoami please")).startswith("Usage: `/idl whoami`.")
    deadlines = await text(world, "alice", "/idl deadlines all 3 4")
    assert deadlines.startswith("Usage: `/idl deadlines [all] [n]`.")
    assert (await text(world, "sstober", "/idl export now")).startswith("Usage: `/idl export`.")
    assert (await world.dm("alice", "status @alice @bob")).startswith("Usage: `/idl status [@student]`.")
