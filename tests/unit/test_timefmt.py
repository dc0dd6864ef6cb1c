"""domain/timefmt: the reader's zone, named, and no accidental @-mentions."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from idlbot.domain.chat import UserTimezone
from idlbot.domain.schedule import Occurrence, upcoming
from idlbot.domain.timefmt import (
    NOTHING_DUE,
    format_span,
    format_when,
    relative,
    render_deadlines,
    user_zone,
)
from tests.unit.course_2018 import BERLIN, berlin, course_2018

NEW_YORK = ZoneInfo("America/New_York")
ZWSP = "\u200b"


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, "Europe/Berlin"),
        (UserTimezone(True, "Asia/Tokyo", "Europe/Paris"), "Asia/Tokyo"),
        (UserTimezone(True, "", "Europe/Paris"), "Europe/Paris"),  # switched on, nothing reported
        (UserTimezone(False, "Asia/Tokyo", "Europe/Paris"), "Europe/Paris"),
        (UserTimezone(False, "Asia/Tokyo", ""), "Europe/Berlin"),  # manual, but none chosen
        (UserTimezone(True, "Mars/Olympus"), "Europe/Berlin"),  # unknown to the tz database
        (UserTimezone(False, manual="../../etc/passwd"), "Europe/Berlin"),
    ],
)
def test_user_zone(choice: UserTimezone | None, expected: str) -> None:
    assert user_zone(choice, BERLIN).key == expected


def test_format_when_names_cest_and_cet() -> None:
    now = berlin(2018, 10, 21, 12)
    assert format_when(berlin(2018, 10, 23, 12), BERLIN, now) == "Tue 23 Oct 2018, 12:00 CEST (in 2 days)"
    assert format_when(berlin(2018, 10, 30, 12), BERLIN, now) == "Tue 30 Oct 2018, 12:00 CET (in 9 days)"


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (berlin(2018, 10, 23, 9, 0), "now"),
        (berlin(2018, 10, 23, 9, 45), "in 45 min"),
        (berlin(2018, 10, 23, 12, 59), "in 3 h"),
        (berlin(2018, 10, 23, 23, 59), "in 14 h"),
        (berlin(2018, 10, 24, 8, 0), "tomorrow"),
        (berlin(2018, 10, 26, 8, 0), "in 3 days"),
        (berlin(2018, 10, 23, 8, 0), "1 h ago"),
        (berlin(2018, 10, 22, 8, 0), "yesterday"),
    ],
)
def test_relative(at: datetime, expected: str) -> None:
    assert relative(at, berlin(2018, 10, 23, 9, 0), BERLIN) == expected


def test_relative_late_evening_counts_hours_not_tomorrow() -> None:
    assert relative(berlin(2018, 10, 24, 1, 0), berlin(2018, 10, 23, 22, 0), BERLIN) == "in 3 h"


def test_format_span() -> None:
    span = format_span(berlin(2018, 10, 18, 13), berlin(2018, 10, 18, 15), BERLIN)
    assert span == "Thu 18 Oct 2018, 13:00\u201315:00 CEST"
    tokyo = format_span(berlin(2018, 10, 18, 13), berlin(2018, 10, 18, 18), ZoneInfo("Asia/Tokyo"))
    assert tokyo == "Thu 18 Oct 2018, 20:00 JST \u2013 Fri 19 Oct 2018, 01:00 JST"


def test_render_deadlines_in_berlin() -> None:
    now = berlin(2018, 10, 16, 7)
    text = render_deadlines(upcoming(course_2018(), now=now, limit=3), BERLIN, now, zone_name="Europe/Berlin")
    assert text.splitlines() == [
        "Times are in Europe/Berlin.",
        "- **Questions** deadline ([GitLab issues](https://code.ovgu.de/stober/idl2018/issues)) "
        "Tue 16 Oct 2018, 12:00 CEST (in 5 h)",
        "- **a01** Assignment 1 due Tue 16 Oct 2018, 23:59 CEST (in 16 h)",
        "- **Exercise group 1** Thu 18 Oct 2018, 13:00\u201315:00 CEST, G29-K058",
    ]


def test_render_deadlines_for_a_new_york_user() -> None:
    now = berlin(2018, 10, 21, 12)
    occurrences = upcoming(course_2018(), now=now, kinds=["assignment"], limit=1)
    text = render_deadlines(occurrences, NEW_YORK, now, zone_name="America/New_York")
    assert text.splitlines() == [
        "Times are in America/New_York.",
        "- **a02** Assignment 2 due Tue 23 Oct 2018, 17:59 EDT (in 2 days)",
    ]


def test_render_nothing_due() -> None:
    assert render_deadlines([], BERLIN, berlin(2019, 3, 1), zone_name="Europe/Berlin") == NOTHING_DUE


def test_titles_cannot_mention_everybody() -> None:
    occurrence = Occurrence("assignment", "assignment:a09", "Bonus @all @channel", berlin(2018, 12, 1))
    text = render_deadlines([occurrence], BERLIN, berlin(2018, 11, 1), zone_name="Europe/Berlin")
    assert "@all" not in text
    assert "@channel" not in text
    assert f"@{ZWSP}all" in text
