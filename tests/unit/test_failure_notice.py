"""The DM about a post that failed for good: cause in words, what to do, nothing unsafe."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from idlbot.domain.announce import Announcement
from idlbot.domain.failure_notice import announcement_notice, explain, reminder_notice
from idlbot.domain.reminders import CustomReminder
from tests.support.foreign import HOSTILE, assert_safe

BERLIN = ZoneInfo("Europe/Berlin")
AT = datetime(2018, 10, 23, 8, 0, tzinfo=UTC)


def reminder(kind: str = "once", cancelled: bool = False, text: str = "Bring your laptop") -> CustomReminder:
    return CustomReminder(
        id=3, kind=kind, first=AT, channel="group1", text=text, created_by="tutor1",  # type: ignore[arg-type]
        cancelled=cancelled, created_by_id="u" * 26,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (
            "400 api.post.create_post.can_not_post_to_deleted.error: Can not post to deleted channel.",
            "archived",
        ),
        ("403 api.context.permissions.app_error: You do not have the appropriate permissions.", "removed"),
        ("no channel ~exercise-group-1", "cannot find the channel"),
        ("404 app.channel.get.existing.app_error: Unable to find the existing channel.", "deleted"),
        ("413 too large", "refused"),
    ],
)
def test_the_cause_in_words(error: str, cause: str) -> None:
    assert cause in explain(error)


def test_a_weekly_reminder_says_how_to_stop_it() -> None:
    text = reminder_notice(reminder("weekly"), "exercise-group-1", "403 x", AT, BERLIN)
    assert text.startswith(
        "Your reminder 3 to ~exercise-group-1 could not be posted (Tue 23 Oct 2018, 10:00 CEST)."
    )
    assert "`/idl remind cancel 3`" in text and "> Bring your laptop" in text
    once = reminder_notice(reminder(), "exercise-group-1", "403 x", AT, BERLIN)
    assert "remind cancel" not in once and "add it again" in once


def test_foreign_text_in_the_notice_notifies_nobody() -> None:
    text = reminder_notice(reminder(text=HOSTILE), HOSTILE, f"no channel ~{HOSTILE}", AT, BERLIN)
    assert_safe(text)
    a = Announcement(
        id=4, state="queued", channel_id="c" * 26, channel_name=HOSTILE, text=HOSTILE, notify="all",
        post_at=None, created_by="sstober", created_by_id="s" * 26, created_at=AT,
    )  # fmt: skip
    notice = announcement_notice(a, HOSTILE, AT, BERLIN)
    assert notice.startswith("Your announcement 4 to ~") and "@all" not in notice
    assert_safe(notice)
