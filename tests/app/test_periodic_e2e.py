"""The periodic passes through the whole bot. On a FakeClock nothing is timed by the wall
clock: the driver runs the passes due at start, sees that the clock stands still, and from
then on a pass runs when the test says so (`bot.periodic.run_due(clock.now())`)."""

from __future__ import annotations

from datetime import timedelta

from idlbot.adapters.mattermost.rest import KEY_PROP
from idlbot.clock import FakeClock
from idlbot.devtools.demo import DEMO_START
from tests.app.conftest import Harness, eventually, make_harness


def announcements(h: Harness) -> list[str]:
    channel = h.channel(h.settings.mattermost.channels["announcements"])
    return [
        str(p["message"])
        for p in h.bot_posts(channel)
        if str(p["props"].get(KEY_PROP, "")).startswith("announce:")
    ]


async def test_every_pass_is_registered_once_and_timed_by_the_driver_on_a_flowing_clock(db_url: str) -> None:
    h = await make_harness(db_url, gitlab=True)
    try:
        bot = await h.start_bot()
        assert bot.periodic.names == [
            "announcements",
            "failure notices",
            "exclusion notices",
            "qualification warnings",
            "pruning",
            "gitlab reconciliation",
            "agenda reconciliation",
            "agenda freeze",
        ]
        assert not bot.periodic.manual  # the demo's ShiftedClock flows
    finally:
        await h.close()


async def test_a_scheduled_announcement_goes_out_at_the_first_pass_after_its_time(db_url: str) -> None:
    clock = FakeClock(DEMO_START)  # Mon 22 Oct 2018 09:00 CEST
    h = await make_harness(db_url)
    h.clock = lambda: clock
    try:
        bot = await h.start_bot()
        await eventually(lambda: bot.periodic.manual, what="the driver to hand over to the test")
        done = await h.answer("sstober", '/idl announce --at "tue 10:00" --notify none --yes Room change')
        assert "scheduled" in done, done
        clock.set(DEMO_START + timedelta(days=1, minutes=59))  # Tue 09:59
        assert "announcements" in await bot.periodic.run_due(clock.now())
        await h.drained()
        assert announcements(h) == []
        clock.advance(minutes=1)
        assert "announcements" in await bot.periodic.run_due(clock.now())
        await h.drained()
        [posted] = announcements(h)
        assert "Room change" in posted
        clock.advance(minutes=1)
        await bot.periodic.run_due(clock.now())
        await h.drained()
        assert len(announcements(h)) == 1
    finally:
        await h.close()
