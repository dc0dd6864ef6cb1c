"""Issue 12, "nothing fails silently", through the whole bot and the Mattermost simulator.

* a reminder or an announcement to a channel the bot cannot post to is refused when it is
  created (unknown, private without the bot, the bot not a member, Mattermost not
  answering), never accepted to fail at firing time;
* a post that fails for good later (channel archived or gone after creation) shows in
  `/idl health` and its author gets exactly one DM, also after a restart;
* `announce --at` takes one time: a weekly form is refused, and no error offers one;
* `remind cancel` a second time says "already cancelled".

Time is a FakeClock: reminders fire when the test runs `reminder_runner.run_due`.
"""

from __future__ import annotations

from typing import Any

import pytest

from idlbot.adapters.mattermost.rest import KEY_PROP
from idlbot.clock import FakeClock
from idlbot.devtools.demo import DEMO_START
from tests.app.conftest import Harness, eventually, make_harness

BY_NAME = "GET /api/v4/teams/{team_id}/channels/name/{channel_name}"


def custom_reminders(listing: str) -> list[str]:
    return [line for line in listing.splitlines() if line.startswith("- ") and "#" in line]


async def test_a_reminder_to_an_unknown_channel_is_refused_at_once(harness: Harness) -> None:
    reply = await harness.answer("sstober", "/idl remind add in 1m nosuch Bring your laptop")
    assert "There is no channel ~nosuch I can post to." in reply, reply
    assert "`exercise-group-1`" in reply and "`group1`" in reply, reply  # how to name one
    assert custom_reminders(await harness.answer("sstober", "/idl remind list")) == []


async def test_a_hostile_channel_name_is_refused_defused(harness: Harness) -> None:
    reply = await harness.answer("sstober", "/idl remind add in 1m @all Hi")
    assert "There is no channel" in reply and "@all" not in reply, reply


async def test_a_private_channel_without_the_bot_is_refused_like_an_unknown_one(harness: Harness) -> None:
    harness.sim.add_channel(harness.info["team_id"], "staff-room", type="P")
    reply = await harness.answer("sstober", "/idl remind add in 1m staff-room Meeting")
    assert "There is no channel ~staff-room I can post to." in reply, reply
    announce = await harness.answer("sstober", "/idl announce --channel staff-room Meeting")
    assert "There is no channel ~staff-room I can post to." in announce, announce


async def test_a_public_channel_the_bot_is_not_in_is_refused_saying_so(harness: Harness) -> None:
    harness.sim.add_channel(harness.info["team_id"], "off-topic")
    reply = await harness.answer("sstober", "/idl remind add in 1m off-topic Hello")
    assert "I am not a member of ~off-topic" in reply and "Add me" in reply, reply
    assert custom_reminders(await harness.answer("sstober", "/idl remind list")) == []


async def test_an_announcement_to_an_unknown_channel_is_refused(harness: Harness) -> None:
    reply = await harness.answer("sstober", "/idl announce --channel nosuch --yes Room change")
    assert "There is no channel ~nosuch I can post to." in reply and "`exercise-group-1`" in reply, reply


async def test_mattermost_not_answering_at_creation_is_said_and_nothing_is_saved(harness: Harness) -> None:
    harness.sim.faults.fail_route(BY_NAME, n=20, status=503)
    reply = await harness.answer("sstober", "/idl remind add in 1h group1 Bring your laptop")
    assert "could not check ~exercise-group-1 with Mattermost just now" in reply, reply
    assert "nothing was saved" in reply and "try again" in reply, reply
    announce = await harness.answer("sstober", "/idl announce --yes Room change")
    assert "could not check ~town-square" in announce, announce
    harness.sim.faults.fail_route(BY_NAME, n=0)
    assert custom_reminders(await harness.answer("sstober", "/idl remind list")) == []
    again = await harness.answer("sstober", "/idl remind add in 1h group1 Bring your laptop")
    assert again.startswith("Reminder 1 set:"), again


async def test_announce_at_takes_one_time_and_no_error_offers_weekly(harness: Harness) -> None:
    for text in ('/idl announce --at "weekly tue 10:00" Lab', "/idl announce --at every tue 10:00 Lab"):
        reply = await harness.answer("sstober", text)
        assert "announcement is posted once" in reply and "/idl remind add weekly" in reply, reply
        assert "Preview" not in reply
    bad = await harness.answer("sstober", '/idl announce --at "someday" Lab')
    assert "I can't read" in bad and "weekly" not in bad, bad
    reminder = await harness.answer("sstober", "/idl remind add someday group1 Hi")
    assert "`weekly tue 10:00`" in reminder, reminder  # reminders do repeat


async def test_cancel_twice_says_already_cancelled(harness: Harness) -> None:
    added = await harness.answer("sstober", "/idl remind add in 2h group1 Bring your laptop")
    assert added.startswith("Reminder 1 set:"), added
    assert await harness.answer("sstober", "/idl remind cancel 1") == "Reminder 1 cancelled."
    again = await harness.answer("sstober", "/idl remind cancel 1")
    assert "Reminder 1 is already cancelled" in again, again
    unknown = await harness.answer("sstober", "/idl remind cancel 99")
    assert "There is no reminder 99" in unknown, unknown
    # someone else's: the existing policy (a tutor cancels only their own), checked first
    other = await harness.answer("tutor1", "/idl remind cancel 1")
    assert "only their own reminders" in other and "already cancelled" not in other, other


async def test_announce_cancel_twice_says_already_cancelled(harness: Harness) -> None:
    preview = await harness.answer("sstober", '/idl announce --at "fri 16:00" Lab closed')
    assert "Preview of announcement 1" in preview, preview
    await harness.answer("sstober", "/idl announce confirm 1")
    assert "is cancelled" in await harness.answer("sstober", "/idl announce cancel 1")
    again = await harness.answer("sstober", "/idl announce cancel 1")
    assert again == "Announcement 1 is already cancelled.", again


def notices(h: Harness, username: str) -> list[dict[str, Any]]:
    return [
        p
        for p in h.bot_posts(h.dm_channel(username))
        if str((p.get("props") or {}).get(KEY_PROP, "")).startswith("failed:")
    ]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("restart_before_firing", [False, True], ids=["post-refused", "channel-gone"])
async def test_a_reminder_whose_channel_is_archived_tells_health_and_its_author_once(
    db_url: str, restart_before_firing: bool
) -> None:
    """The channel is archived after the reminder was set. Fired by the same bot, the post
    is refused (400, the outbox gives up); fired after a restart, the channel's name no
    longer resolves (the firing fails). Either way: health shows it, one DM, also after
    another restart."""
    clock = FakeClock(DEMO_START)
    h = await make_harness(db_url)
    h.clock = lambda: clock
    try:
        bot = await h.start_bot()
        await eventually(lambda: bot.periodic.manual, what="the driver to hand over to the test")
        added = await h.answer("tutor1", "/idl remind add in 1h group1 Bring your laptop")
        assert added.startswith("Reminder 1 set:"), added
        h.sim.archive_channel(h.channel("exercise-group-1"))
        if restart_before_firing:
            await h.stop_bot()
            bot = await h.start_bot()
            await eventually(lambda: bot.periodic.manual, what="the driver to hand over to the test")
        clock.advance(hours=1, minutes=1)
        await bot.reminder_runner.run_due(clock.now())
        await h.drained()
        await bot.periodic.run_now()  # every pass, the failure notices among them
        await h.drained()

        async def health_line() -> str:  # health answers from a reading at most a second old
            health = await h.answer("sstober", "/idl health")
            return next((x for x in health.splitlines() if "rem:custom:1:" in x), "")

        line = await eventually(health_line, what="the failure in /idl health")
        expected = "no channel ~exercise-group-1" if restart_before_firing else "can_not_post_to_deleted"
        assert expected in line.replace("\\", ""), line  # defused: `\_`, `\~`
        [notice] = notices(h, "tutor1")
        message = str(notice["message"])
        assert message.startswith("Your reminder 1 to ~exercise-group-1 could not be posted"), message
        assert "Bring your laptop" in message
        assert notices(h, "sstober") == []  # the author only
        await h.stop_bot()
        bot = await h.start_bot()
        await eventually(lambda: bot.periodic.manual, what="the driver to hand over to the test")
        clock.advance(minutes=5)
        await bot.periodic.run_now()
        await bot.reminder_runner.run_due(clock.now())
        await h.drained()
        assert len(notices(h, "tutor1")) == 1
    finally:
        await h.close()


@pytest.mark.timeout(120)
async def test_a_scheduled_announcement_whose_channel_is_archived_tells_its_author_once(db_url: str) -> None:
    clock = FakeClock(DEMO_START)
    h = await make_harness(db_url)
    h.clock = lambda: clock
    try:
        bot = await h.start_bot()
        await eventually(lambda: bot.periodic.manual, what="the driver to hand over to the test")
        done = await h.answer("sstober", '/idl announce --channel group1 --at "in 1h" --yes Lab moves to G29')
        assert "is scheduled for" in done, done
        h.sim.archive_channel(h.channel("exercise-group-1"))
        clock.advance(hours=1, minutes=1)
        await bot.periodic.run_now("announcements")
        await h.drained()
        await bot.periodic.run_now()
        await h.drained()
        [notice] = notices(h, "sstober")
        message = str(notice["message"])
        assert message.startswith("Your announcement 1 to ~exercise-group-1 could not be posted"), message
        assert "archived" in message and "Lab moves to G29" in message
        await h.stop_bot()
        bot = await h.start_bot()
        await bot.periodic.run_now()
        await h.drained()
        assert len(notices(h, "sstober")) == 1
    finally:
        await h.close()
