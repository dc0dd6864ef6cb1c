"""The presenter rota through the whole bot and both simulators.

On a FakeClock at Mon 22 Oct 2018, 09:00 Berlin: the proposal for Wednesday's class goes
out at 13:15 (two days before the class) as one DM to every team member, once however
often the runner passes; a tutor records a presentation (twice: said so), a student is
refused, and `/idl status` shows the presenting rule. With GitLab: a progress-report page
reaches `/idl presenters` through the Wiki Page Hook, and with hooks off through the
reconciliation."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from idlbot.clock import FakeClock
from idlbot.devtools.demo import DEMO_START
from idlbot.devtools.sim.mm_mentions import parse_post
from idlbot.domain.ledger import Student
from idlbot.domain.presenters import classes_left
from tests.app.conftest import Harness, eventually, make_harness

BERLIN = ZoneInfo("Europe/Berlin")
ROSTER = [
    Student("alice", gitlab="alice", group_id="g1", team_id="lyrics-a"),
    Student("bob", gitlab="bob", group_id="g2", team_id="lyrics-a"),
    Student("carol", gitlab="carol", group_id="g3", team_id="lyrics-b"),
]
FIRES = datetime(2018, 10, 22, 13, 15, tzinfo=BERLIN)  # Wed 24 Oct 13:15, two days before


def with_rule(h: Harness) -> None:
    rules = replace(h.settings.course.rules, presenting=True)
    h.settings = replace(h.settings, course=replace(h.settings.course, rules=rules))


def from_the_first_class(h: Harness) -> None:
    """These tests walk the first weeks; the example starts presentations on 24 Oct."""
    rules = replace(h.settings.course.rules, presenting_from=None)
    h.settings = replace(h.settings, course=replace(h.settings.course, rules=rules))


def proposals(h: Harness, user: str) -> list[str]:
    return [str(p["message"]) for p in h.bot_posts(h.dm_channel(user)) if "Progress report" in p["message"]]


def assert_inert(h: Harness, text: str) -> None:
    assert not parse_post(text, h.sim.state.mention_keywords()).any, text


async def test_proposals_records_and_the_rule_in_the_status(db_url: str) -> None:
    clock = FakeClock(DEMO_START)
    h = await make_harness(db_url)
    from_the_first_class(h)
    h.clock = lambda: clock
    with_rule(h)
    try:
        bot = await h.start_bot()
        await eventually(lambda: bot.periodic.manual, what="the driver to hand over to the test")
        for student in ROSTER:
            await bot.roster.upsert(student, now=clock.now())
        await bot.reminder_runner.run_due(clock.now())
        await h.drained()
        assert not any(proposals(h, u) for u in ("alice", "bob", "carol"))  # not before its time

        clock.set(FIRES)
        assert ("rem:presenters:2018-10-24", "sent") in await bot.reminder_runner.run_due(clock.now())
        await bot.reminder_runner.run_due(clock.now())  # again: nothing more
        await h.drained()
        for user in ("alice", "bob", "carol"):
            [text] = proposals(h, user)
            assert text.startswith("**Progress report, class on Wed 24 Oct 2018, Team "), text
            assert_inert(h, text)
        [team_a] = proposals(h, "alice")
        assert proposals(h, "bob") == [team_a] and "Not presented yet: @\u200balice, @\u200bbob" in team_a
        assert "proposed to present is @\u200bcarol." in proposals(h, "carol")[0]

        done = await h.answer("tutor1", "/idl presented lyrics-a @alice")
        assert done == "Recorded: @\u200balice presented for Team A (sung lyrics) on Wed 17 Oct 2018.", done
        again = await h.answer("sstober", "/idl presented lyrics-a @alice 2018-10-17")
        assert again.startswith("Already recorded (by @\u200btutor1), nothing changed"), again
        refused = await h.answer("bob", "/idl presented lyrics-a @bob")
        assert refused.startswith("`/idl presented` is for ") and "you are a student" in refused, refused
        wrong = await h.answer("tutor1", "/idl presented lyrics-b @alice")
        assert "is not on lyrics-b (the roster has team lyrics-a)" in wrong and "`team=lyrics-b`" in wrong, (
            wrong
        )
        assert "no class on" in await h.answer("tutor1", "/idl presented lyrics-a @bob 2018-10-18")

        alice = await h.answer("alice", "/idl status")
        assert (
            "✓ **Presenting the team's progress:** presented the team's progress in class (Wed 17 Oct 2018)"
            in alice
        )
        bob = await h.answer("bob", "/idl status")
        left = classes_left(h.settings.course, clock.now())
        assert (
            "⏳ **Presenting the team's progress:** not yet; present the team's progress in one of "
            f"the {left} remaining classes" in bob
        ), bob
        mine = await h.answer("bob", "/idl presenters")
        assert (
            "Not presented yet: @\u200bbob." in mine
            and "- Wed 17 Oct 2018: presented by @\u200balice" in mine
        )
        assert "- Wed 24 Oct 2018: proposed @\u200b" in mine
        for text in (done, again, wrong, alice, bob, mine):
            assert_inert(h, text)
    finally:
        await h.close()


async def test_a_report_page_shows_by_its_week_through_the_hook_and_the_reconciliation(db_url: str) -> None:
    h = await make_harness(db_url, gitlab=True)
    from_the_first_class(h)
    try:
        gl = h.gitlab
        assert gl is not None and h.settings.gitlab is not None
        project = h.settings.gitlab.project
        bot = await h.start_bot()
        for student in ROSTER:
            await bot.roster.upsert(student, now=bot.clock.now())
        gl.create_wiki_page(project, "teams/lyrics-a/sprint-3", "done: the lyrics aligner", user="alice")

        async def shown(slug: str) -> str | None:
            text = await h.answer("bob", "/idl presenters")
            line = next((ln for ln in text.splitlines() if ln.startswith("- Wed 24 Oct 2018")), "")
            return text if slug in line else None

        text = await eventually(
            lambda: shown("teams/lyrics-a/sprint-3"), timeout=10, what="the report by the hook"
        )
        assert "- Wed 17 Oct 2018: nobody recorded; no report page" in text
        gl.hooks_enabled = False
        gl.create_wiki_page(project, "teams/lyrics-a/sprint-3-notes", "and the notes", user="bob")
        assert await shown("sprint-3-notes") is None  # no hook: not yet
        await bot.periodic.run_now("gitlab reconciliation")
        text = await h.answer("bob", "/idl presenters")
        assert "report: teams/lyrics-a/sprint-3, teams/lyrics-a/sprint-3-notes" in text, text
        other = await h.answer("carol", "/idl presenters")
        assert "sprint-3" not in other  # team B's record has no team A report
    finally:
        await h.close()
