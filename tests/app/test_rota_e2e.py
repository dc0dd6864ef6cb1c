"""The session-summary rota through the whole bot: the announcement and the writer's DM at
their time (fake clock), a swap asked and accepted by two students with slash commands,
and the summary page recognised by GitLab's webhook and by the reconciliation, after
which the writer gets no reminder."""

from __future__ import annotations

from datetime import timedelta

from idlbot.clock import FakeClock
from idlbot.devtools.demo import DEMO_START
from idlbot.domain.defuse import ZWSP
from idlbot.domain.ledger import Student
from tests.app.conftest import Harness, eventually, make_harness
from tests.support.foreign import assert_no_mention

ROSTER = [
    Student(mattermost=n, gitlab=n, group_id=g) for n, g in (("alice", "g1"), ("bob", "g2"), ("carol", "g3"))
]
RECONCILE = "gitlab reconciliation"
A_YEAR = 365 * 24 * 60.0  # minutes: the reconciliation runs at start only, unless asked


async def started(db_url: str, clock: FakeClock) -> Harness:
    h = await make_harness(db_url, gitlab=True, reconcile_minutes=A_YEAR)
    h.clock = lambda: clock
    bot = await h.start_bot()
    for student in ROSTER:
        await bot.roster.upsert(student, now=clock.now())
    await eventually(lambda: bot.periodic.manual, what="the driver to hand over to the test")
    return h


def dms(h: Harness, user: str, text: str) -> list[str]:
    return [p["message"] for p in h.bot_posts(h.dm_channel(user)) if text in p["message"]]


async def test_announce_swap_and_the_page_by_webhook(db_url: str) -> None:
    clock = FakeClock(DEMO_START)  # Mon 2018-10-22 09:00
    h = await started(db_url, clock)
    try:
        bot, gl = h.bot, h.gitlab
        assert gl is not None and bot.rota is not None and h.settings.gitlab is not None
        shown = await h.answer("alice", "/idl rota")
        assert "Wed 2018-10-24" in shown and "(projected)" in shown, shown

        clock.set(DEMO_START + timedelta(days=1, hours=4, minutes=15))  # Tue 13:15, a day before class
        await bot.reminder_runner.run_due(clock.now())
        await h.drained()
        writer = (await bot.rota.store.picks())[bot.rota.classes()[2]].writer
        other = next(s.mattermost for s in ROSTER if s.mattermost != writer)
        [post] = [p for p in h.bot_posts(h.channel("town-square")) if "Session summary" in p["message"]]
        assert f"@{ZWSP}{writer} writes it" in post["message"]
        assert_no_mention(h.sim.mentions_of(post), post["message"])  # the writer is told by DM
        assert len(dms(h, writer, "create the wiki page `summaries/2018-10-24`")) == 1

        refused = await h.answer(other, f"/idl rota swap 2018-10-24 @{writer}")
        assert "Only the writer" in refused, refused
        asked = await h.answer(writer, f"/idl rota swap wed @{other}")
        assert asked.startswith("Swap asked:"), asked
        await h.drained()
        assert len(dms(h, other, "/idl rota accept 2018-10-24")) == 1
        accepted = await h.answer(other, "/idl rota accept 2018-10-24")
        assert accepted.startswith("Swap accepted: you write the summary of Wed 2018-10-24"), accepted
        await h.drained()
        assert len(dms(h, writer, "accepted")) == 1
        assert f"@{ZWSP}{other} (announced, swapped)" in await h.answer("carol", "/idl rota")

        gl.create_wiki_page(h.settings.gitlab.project, "summaries/2018-10-24", "What we did", user=other)

        async def recorded() -> bool:
            return any(p.slug == "summaries/2018-10-24" for p in await bot.rota.store.pages())

        await eventually(recorded, what="the summary page by webhook")
        clock.set(DEMO_START + timedelta(days=8, hours=9))  # Tue 2018-10-30 18:00
        await bot.reminder_runner.run_due(clock.now())
        clock.set(DEMO_START + timedelta(days=9, hours=4, minutes=15))  # Wed 2018-10-31 13:15
        await bot.reminder_runner.run_due(clock.now())
        await h.drained()
        assert dms(h, other, "not on the wiki yet") == []
        assert dms(h, "sstober", "still missing") == []
        history = await h.answer("alice", "/idl rota")
        assert f"Wed 2018-10-24: @{ZWSP}{other}, page summaries/2018-10-24 is there" in history, history
    finally:
        await h.close()


async def test_a_page_whose_hook_was_lost_is_found_by_the_reconciliation(db_url: str) -> None:
    clock = FakeClock(DEMO_START + timedelta(days=2, hours=6))  # Wed 2018-10-24 15:00, after class
    h = await started(db_url, clock)
    try:
        bot, gl = h.bot, h.gitlab
        assert gl is not None and bot.rota is not None and h.settings.gitlab is not None
        await bot.rota.assign(bot.rota.classes()[3], "bob", by="sstober", now=clock.now())  # 2018-10-31
        gl.hooks_enabled = False
        gl.create_wiki_page(h.settings.gitlab.project, "summaries/2018-10-31/notes", "Notes", user="bob")
        await h.settle(RECONCILE)
        assert [p.slug for p in await bot.rota.store.pages()] == ["summaries/2018-10-31/notes"]
        pick = (await bot.rota.store.picks())[bot.rota.classes()[3]]
        assert await bot.rota.page(pick) is not None
    finally:
        await h.close()
