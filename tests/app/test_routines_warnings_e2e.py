"""The blog nudge and the early warnings end to end: the real bot against the Mattermost
and GitLab simulators, on the 2018 clock (Mon 22 Oct 2018, 09:00: a01 was due on the
16th, a02 is due Tue 23 Oct 23:59).

Alice writes a blog post in the GitLab wiki (its webhook reaches the bot), Bob does not:
the Sunday nudge goes to Bob only (not to Carol either, who was taken out of the
course). Alice has a01 on time, Bob missed it: Bob is told once
that he can miss no more, by the periodic pass, and not again by a second pass, by a
restart, or by the routine's check after a02; after a02 is missed too, he is told once
that qualification is out of reach and Alice that she can miss no more. An excuse
recorded by staff puts him back on track, told once. "Nothing more arrives" is the
outbox drained after the passes ran again.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from idlbot.clock import FakeClock
from idlbot.devtools.demo import DEMO_START
from idlbot.domain.ledger import Student
from tests.app.conftest import Harness, eventually, make_harness

BERLIN = ZoneInfo("Europe/Berlin")
ALICE = Student("alice", gitlab="alice", group_id="g1")
BOB = Student("bob", gitlab="bob", group_id="g2")
NUDGE = "**Learning blog:**"
LAST_CHANCE = "you can miss no more assignments"
OUT_OF_REACH = "you can no longer qualify for the exam"


def dms(h: Harness, user: str, text: str) -> list[str]:
    return [p["message"] for p in h.bot_posts(h.dm_channel(user)) if text in p["message"]]


async def started(db_url: str, clock: FakeClock) -> Harness:
    h = await make_harness(db_url, gitlab=True)
    h.clock = lambda: clock  # stands still: the test moves it, and runs the passes itself
    bot = await h.start_bot()
    # the pass the start runs must end before the roster is written: run between alice's
    # entry and her override, it warned her of a01 (missed, as it then seemed) in CI
    await bot.periodic.run_now("qualification warnings")
    for student in (ALICE, BOB):
        await bot.roster.upsert(student, now=bot.clock.now())
    await bot.qualification.override(
        "alice", "a01", "on-time", reason="handed in by mail", by="sstober", now=bot.clock.now()
    )
    return h


async def test_a_blog_post_by_webhook_spares_its_author_the_sunday_nudge(db_url: str) -> None:
    clock = FakeClock(DEMO_START)
    h = await started(db_url, clock)
    try:
        gl, bot = h.gitlab, h.bot
        assert gl is not None and h.settings.gitlab is not None
        await bot.roster.upsert(Student("carol", gitlab="carol", group_id="g3"), now=clock.now())
        await h.answer("sstober", "/idl roster @carol active=no")
        assert await bot.roster.is_active("carol") is False
        gl.create_wiki_page(h.settings.gitlab.project, "blog/alice/week 3", "what I learned", user="alice")

        async def recorded() -> bool:
            ledger = await bot.qualification.ledger_for("alice")
            return ledger is not None and any(p.kind == "blog" for p in ledger.posts)

        await eventually(recorded, timeout=10, what="alice's blog post from the webhook")
        sunday = datetime(2018, 10, 28, 18, 0, tzinfo=BERLIN)
        clock.set(sunday)
        outcomes = dict(await bot.reminder_runner.run_due(sunday))
        assert outcomes["rem:blog_nudge:2018-10-28"] == "sent"
        await h.drained()
        [nudge] = dms(h, "bob", NUDGE)
        assert "no learning-blog post yet" in nudge and "`/idl remind off`" in nudge
        assert dms(h, "alice", NUDGE) == []
        assert dms(h, "carol", NUDGE) == []  # taken out of the course
        assert await bot.reminder_runner.run_due(sunday) == []  # claimed: not again
        await h.drained()
        assert len(dms(h, "bob", NUDGE)) == 1
    finally:
        await h.close()


async def test_a_missed_assignment_warns_once_across_passes_restarts_and_the_due_check(db_url: str) -> None:
    clock = FakeClock(DEMO_START)
    h = await started(db_url, clock)
    try:
        await h.settle("qualification warnings")
        await h.settle("qualification warnings")
        [warning] = dms(h, "bob", LAST_CHANCE)
        assert "must hand in all of the remaining 7 on time" in warning
        assert "@\u200btutor2" in warning and "`/idl status`" in warning
        assert dms(h, "alice", "**Exam qualification:**") == []
        await h.stop_bot()
        await h.start_bot()
        await h.settle("qualification warnings")
        assert len(dms(h, "bob", LAST_CHANCE)) == 1
        after_a02 = datetime(2018, 10, 24, 0, 4, tzinfo=BERLIN)
        clock.set(after_a02)
        outcomes = dict(await h.bot.reminder_runner.run_due(after_a02))
        assert outcomes["rem:warnings:a02"] == "sent"
        await h.settle("qualification warnings")
        assert len(dms(h, "bob", LAST_CHANCE)) == 1
        assert len(dms(h, "bob", OUT_OF_REACH)) == 1
        assert len(dms(h, "alice", LAST_CHANCE)) == 1
    finally:
        await h.close()


async def test_an_excuse_recorded_by_staff_puts_bob_back_on_track_told_once(db_url: str) -> None:
    """The pass after a staff record sees the change: a01 excused (he was ill), Bob may
    miss one again, and is told so once; recording it again changes nothing."""
    clock = FakeClock(DEMO_START)
    h = await started(db_url, clock)
    try:
        await h.settle("qualification warnings")
        assert len(dms(h, "bob", LAST_CHANCE)) == 1
        for _ in range(2):
            reply = await h.answer("sstober", '/idl record a01 @bob excused --reason "ill, certificate"')
            assert "excused" in reply, reply
            await h.settle("qualification warnings")
        [back] = dms(h, "bob", "back on track")
        assert "can miss at most 1 of the remaining 7" in back, back
        assert len(dms(h, "bob", LAST_CHANCE)) == 1
    finally:
        await h.close()
