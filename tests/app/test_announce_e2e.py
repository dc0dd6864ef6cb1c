"""Issue #6 announcements through the whole bot: preview first, post on `--yes`, the
mass mention only when asked for, students refused, nothing doubled."""

from __future__ import annotations

from idlbot.adapters.mattermost.rest import KEY_PROP
from tests.app.conftest import Harness, eventually


def announcements(h: Harness) -> list[dict[str, object]]:
    channel = h.channel(h.settings.mattermost.channels["announcements"])
    return [p for p in h.bot_posts(channel) if str(p["props"].get(KEY_PROP, "")).startswith("announce:")]


async def test_announce_previews_then_posts_once(harness: Harness) -> None:
    refused = await harness.answer("alice", '/idl announce "Exam moved" ')
    assert "is for tutors" in refused
    preview = await harness.answer("sstober", "/idl announce --notify all The exam moves to Friday @here")
    assert announcements(harness) == []  # a preview only
    assert "Friday" in preview
    done = await harness.answer("sstober", "/idl announce --notify all --yes The exam moves to Friday @here")
    assert done.startswith("Announcement ") and "on its way" in done
    await eventually(lambda: len(announcements(harness)) == 1, what="the announcement")
    message = str(announcements(harness)[0]["message"])
    assert message.startswith("@all") and "@here" not in message.replace("@\u200bhere", "")
    await harness.settle()  # a second copy, from the command or the announcements pass, is posted by now
    assert len(announcements(harness)) == 1
