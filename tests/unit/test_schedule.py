"""domain/schedule: what comes next, on wall-clock time across DST and breaks."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta

import pytest

from idlbot.domain.schedule import Occurrence, class_meetings, upcoming, wall_clock
from tests.unit.course_2018 import BERLIN, UTC, berlin, course_2018, utc

COURSE = course_2018()


def keys(occurrences: list[Occurrence]) -> list[str]:
    return [o.key for o in occurrences]


def test_next_five_at_a_fixed_monday_morning() -> None:
    got = upcoming(COURSE, now=berlin(2018, 10, 15, 9, 0))
    assert keys(got) == [
        "questions:2018-10-16",
        "assignment:a01",
        "exercise:g1:2018-10-18",
        "exercise:g2:2018-10-19",
        "exercise:g3:2018-10-22",
    ]
    questions, a01, g1 = got[0], got[1], got[2]
    assert questions.at == berlin(2018, 10, 16, 12, 0)
    assert questions.where == "https://code.ovgu.de/stober/idl2018/issues"
    assert (a01.title, a01.at) == ("Assignment 1", berlin(2018, 10, 16, 23, 59))
    assert (g1.title, g1.where, g1.group_id) == ("Exercise group 1", "G29-K058", "g1")
    assert (g1.at, g1.end) == (berlin(2018, 10, 18, 13), berlin(2018, 10, 18, 15))
    assert all(o.at.tzinfo is BERLIN for o in got)


def test_strictly_after_now() -> None:
    got = upcoming(COURSE, now=berlin(2018, 10, 16, 12, 0), limit=1)
    assert keys(got) == ["assignment:a01"]


def test_same_instant_sorts_by_key() -> None:
    course = dataclasses.replace(COURSE, questions=dataclasses.replace(COURSE.questions, at=time(23, 59)))
    got = upcoming(course, now=berlin(2018, 10, 16, 9), limit=2)
    assert keys(got) == ["assignment:a01", "questions:2018-10-16"]


def test_no_question_deadline_or_session_in_the_christmas_break() -> None:
    questions = upcoming(COURSE, now=berlin(2018, 12, 18, 13), kinds=["questions"], limit=3)
    assert [o.at.date() for o in questions] == [date(2019, 1, 8), date(2019, 1, 15), date(2019, 1, 22)]
    all_dates = {o.at.date() for o in upcoming(COURSE, now=berlin(2018, 10, 1), limit=1000)}
    assert date(2018, 12, 25) not in all_dates
    assert date(2019, 1, 1) not in all_dates
    g1 = upcoming(COURSE, now=berlin(2018, 12, 20, 16), kinds=["exercise"], group_id="g1", limit=1)
    assert keys(g1) == ["exercise:g1:2019-01-10"]


def test_whole_term_question_deadlines() -> None:
    got = upcoming(COURSE, now=berlin(2018, 10, 1), kinds={"questions"}, limit=1000)
    # 17 Tuesdays from 16 Oct to 5 Feb, minus 25 Dec and 1 Jan
    assert len(got) == 15
    assert got[0].key == "questions:2018-10-16"
    assert got[-1].key == "questions:2019-02-05"


def test_fall_back_2018_10_28_keeps_local_time() -> None:
    got = upcoming(COURSE, now=berlin(2018, 10, 22, 12), kinds=["questions"], limit=2)
    assert [o.at.astimezone(UTC) for o in got] == [utc(2018, 10, 23, 10), utc(2018, 10, 30, 11)]
    assert [o.at.tzname() for o in got] == ["CEST", "CET"]
    sessions = upcoming(COURSE, now=berlin(2018, 10, 22, 12), kinds=["exercise"], group_id="g1", limit=2)
    assert [o.at.astimezone(UTC) for o in sessions] == [utc(2018, 10, 25, 11), utc(2018, 11, 1, 12)]
    assert [o.at.strftime("%H:%M") for o in sessions] == ["13:00", "13:00"]
    assert [o.end.astimezone(UTC) for o in sessions if o.end] == [utc(2018, 10, 25, 13), utc(2018, 11, 1, 14)]


def test_spring_forward_2019_03_31_keeps_local_time() -> None:
    course = dataclasses.replace(COURSE, end=date(2019, 4, 30))
    now = berlin(2019, 3, 25, 12)
    got = upcoming(course, now=now, kinds=["questions"], limit=2)
    assert [o.at.astimezone(UTC) for o in got] == [utc(2019, 3, 26, 11), utc(2019, 4, 2, 10)]
    assert [o.at.tzname() for o in got] == ["CET", "CEST"]
    sessions = upcoming(course, now=now, kinds=["exercise"], group_id="g1", limit=2)
    assert [o.at.astimezone(UTC) for o in sessions] == [utc(2019, 3, 28, 12), utc(2019, 4, 4, 11)]


def test_group_filter_keeps_every_deadline() -> None:
    got = upcoming(COURSE, now=berlin(2018, 10, 15, 9), group_id="g2", limit=4)
    assert keys(got) == [
        "questions:2018-10-16",
        "assignment:a01",
        "exercise:g2:2018-10-19",
        "questions:2018-10-23",
    ]


def test_groups_filter_keeps_those_groups_sessions_only() -> None:
    """A tutor of g1 and g3 sees both; an empty set shows no session, only deadlines."""
    both = upcoming(COURSE, now=berlin(2018, 10, 15, 9), kinds=["exercise"], groups={"g1", "g3"}, limit=4)
    assert keys(both) == [
        "exercise:g1:2018-10-18",
        "exercise:g3:2018-10-22",
        "exercise:g1:2018-10-25",
        "exercise:g3:2018-10-29",
    ]
    none = upcoming(COURSE, now=berlin(2018, 10, 15, 9), groups=frozenset(), limit=3)
    assert keys(none) == ["questions:2018-10-16", "assignment:a01", "questions:2018-10-23"]


def test_kinds_filter_and_argument_checks() -> None:
    got = upcoming(COURSE, now=berlin(2018, 10, 15), kinds=["assignment"], limit=2)
    assert keys(got) == ["assignment:a01", "assignment:a02"]
    assert upcoming(COURSE, now=berlin(2018, 10, 15), limit=0) == []
    with pytest.raises(ValueError, match="unknown occurrence kinds"):
        upcoming(COURSE, now=berlin(2018, 10, 15), kinds=["exam"])
    with pytest.raises(ValueError, match="aware"):
        upcoming(COURSE, now=datetime(2018, 10, 15))  # noqa: DTZ001 - the point of the test


def test_nothing_after_the_term() -> None:
    assert upcoming(COURSE, now=berlin(2019, 2, 8, 23)) == []


def test_skipping_ahead_matches_the_full_table() -> None:
    """upcoming() starts each series near `now` instead of at the course start; check it
    against filtering the whole term, at `now`s spread over the term (every 13 h)."""
    table = upcoming(COURSE, now=berlin(2018, 1, 1), limit=10_000)
    now = berlin(2018, 10, 1)
    while now < berlin(2019, 2, 10):
        expected = [o for o in table if o.at > now][:5]
        assert upcoming(COURSE, now=now, limit=5) == expected, now
        now += timedelta(hours=13)


def test_now_in_another_zone_is_the_same_instant() -> None:
    new_york = upcoming(COURSE, now=berlin(2018, 10, 15, 9).astimezone(UTC), limit=3)
    assert new_york == upcoming(COURSE, now=berlin(2018, 10, 15, 9), limit=3)


def test_wall_clock_gap_maps_to_the_end_of_the_gap() -> None:
    at = wall_clock(date(2019, 3, 31), time(2, 30), BERLIN)
    assert at.astimezone(UTC) == utc(2019, 3, 31, 1, 0)
    assert (at.strftime("%H:%M"), at.tzname()) == ("03:00", "CEST")


def test_wall_clock_ambiguous_time_takes_the_first() -> None:
    at = wall_clock(date(2018, 10, 28), time(2, 30), BERLIN)
    assert at.astimezone(UTC) == utc(2018, 10, 28, 0, 30)
    assert at.tzname() == "CEST"


def test_wall_clock_plain_time() -> None:
    assert wall_clock(date(2018, 10, 23), time(12), BERLIN) == berlin(2018, 10, 23, 12)


def test_class_meetings_keep_their_wall_clock_time_and_skip_the_break() -> None:
    meetings = class_meetings(COURSE)
    assert meetings[0].day == date(2018, 10, 10) and meetings[-1].day == date(2019, 2, 6)
    assert all(m.day.weekday() == 2 for m in meetings)
    assert not any(date(2018, 12, 22) <= m.day <= date(2019, 1, 6) for m in meetings)
    assert len(meetings) == 16  # 18 Wednesdays, two of them in the Christmas break
    before, after = meetings[2], meetings[3]  # 24 Oct CEST, 31 Oct CET
    assert (before.start, after.start) == (berlin(2018, 10, 24, 13, 15), berlin(2018, 10, 31, 13, 15))
    assert after.start.astimezone(UTC) - before.start.astimezone(UTC) == timedelta(days=7, hours=1)
    assert meetings[0].end == berlin(2018, 10, 10, 14, 45)


def test_no_classes_table_means_no_meetings() -> None:
    assert class_meetings(dataclasses.replace(COURSE, classes=None)) == ()
