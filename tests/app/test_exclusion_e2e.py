"""Issue 12, item 5, end to end: one exclusion notice per student and transition.

The whole bot against the Mattermost simulator, records made with `/idl present` as
Mattermost sends them. Carol (g3, tutored by tutor3) fails a01; the excluding fail of
a02 is then recorded by her tutor and again by an instructor, in turn or at the same
moment, and across a restart: she is told once that she can no longer sit the exam, and
each instructor (sstober, jens) gets one DM. Withdrawing a fail reinstates her, told
once as well; a genuine new fail after that excludes her again, and that is told again.
"Nothing more arrives" is the outbox drained after the announcing pass ran again.
"""

from __future__ import annotations

import asyncio

from idlbot.domain.ledger import Student
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.ledger import SqlQualification
from tests.app.conftest import Harness, make_harness

CAROL = Student(mattermost="carol", gitlab="carol", group_id="g3", team_id="lyrics-b")
INSTRUCTORS = ("sstober", "jens")
EXCLUDED_STUDENT = "no longer sit the exam"
EXCLUDED_STAFF = "@carol now has 2 fails"
REINSTATED_STUDENT = "no longer exclude you from the exam"
REINSTATED_STAFF = "@carol is no longer excluded from the exam"


async def started(db_url: str) -> Harness:
    h = await make_harness(db_url)
    bot = await h.start_bot()
    await bot.roster.upsert(CAROL, now=bot.clock.now())
    return h


def dms(h: Harness, user: str, text: str) -> list[str]:
    return [p["message"] for p in h.bot_posts(h.dm_channel(user)) if text in p["message"]]


async def settled(h: Harness) -> None:
    """Every pass ran once more (the announcing one too) and the outbox delivered it all."""
    await h.settle()


def counts(h: Harness, student_text: str, staff_text: str) -> tuple[int, ...]:
    return (len(dms(h, "carol", student_text)), *(len(dms(h, i, staff_text)) for i in INSTRUCTORS))


async def first_fail(h: Harness) -> None:
    reply = await h.answer("tutor3", "/idl present a01 @carol fail")
    assert "The student was told by DM." in reply, reply


async def test_tutor_then_instructor_record_the_same_fail_carol_is_told_once(db_url: str) -> None:
    h = await started(db_url)
    try:
        await first_fail(h)
        by_tutor = await h.answer("tutor3", '/idl present a02 @carol fail --note "could not explain a02"')
        by_instructor = await h.answer("sstober", "/idl present a02 @carol fail")
        await settled(h)
        assert counts(h, EXCLUDED_STUDENT, EXCLUDED_STAFF) == (1, 1, 1)
        assert len(dms(h, "carol", "Your presentation of a02 was recorded as failed")) == 1
        assert "recorded by @tutor3" in dms(h, "jens", EXCLUDED_STAFF)[0]
        assert "@carol is now excluded from the exam: the student and the instructors were told." in by_tutor
        assert "did not change, so nobody was told again" in by_instructor, by_instructor
        assert "excluded" not in by_instructor
    finally:
        await h.close()


async def test_withdrawing_the_fail_reinstates_once_and_a_new_fail_excludes_again(db_url: str) -> None:
    h = await started(db_url)
    try:
        await first_fail(h)
        await h.answer("tutor3", "/idl present a02 @carol fail")
        withdrawn = await h.answer("sstober", '/idl present a02 @carol ok --note "explained it after all"')
        await h.answer("jens", "/idl present a02 @carol ok")  # the same correction again
        await settled(h)
        assert counts(h, REINSTATED_STUDENT, REINSTATED_STAFF) == (1, 1, 1)
        assert "@carol is no longer excluded from the exam: the student and the instructors were told." in (
            withdrawn
        )
        [back] = dms(h, "carol", REINSTATED_STUDENT)
        assert "a02 was changed to ok by @sstober" in back and "1 fail (2 exclude)" in back
        assert counts(h, EXCLUDED_STUDENT, EXCLUDED_STAFF) == (1, 1, 1)
        # a genuine new transition: a03 fails, which excludes her again, and she is told again
        await h.answer("tutor3", "/idl present a03 @carol fail")
        await h.answer("sstober", "/idl present a03 @carol fail")
        await settled(h)
        assert counts(h, EXCLUDED_STUDENT, EXCLUDED_STAFF) == (2, 2, 2)
        assert counts(h, REINSTATED_STUDENT, REINSTATED_STAFF) == (1, 1, 1)
    finally:
        await h.close()


async def test_two_records_at_the_same_moment_tell_carol_once(db_url: str) -> None:
    h = await started(db_url)
    try:
        await first_fail(h)
        replies = await asyncio.gather(
            h.answer("tutor3", "/idl present a02 @carol fail"),
            h.answer("sstober", "/idl present a02 @carol fail"),
        )
        await settled(h)
        assert counts(h, EXCLUDED_STUDENT, EXCLUDED_STAFF) == (1, 1, 1)
        assert len(dms(h, "carol", "Your presentation of a02 was recorded as failed")) == 1
        assert sum("is now excluded from the exam" in r for r in replies) == 1, replies
    finally:
        await h.close()


async def test_a_restart_in_between_repeats_nothing(db_url: str) -> None:
    h = await started(db_url)
    try:
        await first_fail(h)
        await h.answer("tutor3", "/idl present a02 @carol fail")
        await settled(h)
        await h.stop_bot()
        await h.start_bot()
        await settled(h)
        await h.answer("sstober", "/idl present a02 @carol fail")
        await settled(h)
        assert counts(h, EXCLUDED_STUDENT, EXCLUDED_STAFF) == (1, 1, 1)
    finally:
        await h.close()


async def test_a_record_whose_notices_were_lost_to_a_crash_is_announced_at_the_next_start(
    db_url: str,
) -> None:
    """The record committed, then the process died before queueing the notices (written
    here straight to the database while no bot runs): the next start announces it, once."""
    h = await started(db_url)
    try:
        await first_fail(h)
        await settled(h)
        now = h.bot.clock.now()
        await h.stop_bot()
        engine = create_engine(db_url)
        try:
            store = SqlQualification(sessionmaker(engine), h.settings.course)
            assert await store.present("carol", "a02", "fail", note=None, by="tutor3", now=now) is not None
        finally:
            await engine.dispose()
        await h.start_bot()
        await settled(h)
        await h.stop_bot()
        await h.start_bot()
        await settled(h)
        assert counts(h, EXCLUDED_STUDENT, EXCLUDED_STAFF) == (1, 1, 1)
    finally:
        await h.close()
