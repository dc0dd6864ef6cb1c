"""domain/deadline_list: a kept `/idl deadlines` text is exactly the one worked out anew.

The kept text is served until the instant `render_steady_until` and the first listed
occurrence give; these tests compare it, at many instants, with `render_deadlines` of
`upcoming` worked out from scratch: around whole minutes before a deadline, around the
reader's midnight (also in zones with odd offsets and on the night clocks change), and
with the clock set back."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from idlbot.domain import schedule
from idlbot.domain.deadline_list import DeadlineLists
from idlbot.domain.schedule import Occurrence
from idlbot.domain.timefmt import render_deadlines, render_steady_until
from tests.unit.course_2018 import BERLIN, berlin, course_2018

COURSE = course_2018()
ZONES = [BERLIN, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kathmandu"), ZoneInfo("Australia/Lord_Howe")]
TERM = schedule.upcoming(COURSE, now=berlin(2018, 10, 1), limit=1000)
US = timedelta(microseconds=1)


def fresh(now: datetime, limit: int, groups: frozenset[str] | None, tz: ZoneInfo) -> str:
    listed = schedule.upcoming(COURSE, now=now, limit=limit, groups=groups)
    return render_deadlines(listed, tz, now, zone_name=tz.key)


def kept(lists: DeadlineLists, now: datetime, limit: int, groups: frozenset[str] | None, tz: ZoneInfo) -> str:
    return lists.text(COURSE, now=now, limit=limit, groups=groups, tz=tz, zone_name=tz.key)


def test_the_same_text_is_kept_between_whole_minutes() -> None:
    lists = DeadlineLists()
    due = TERM[0].at  # a deadline with a relative time ("in 45 min")
    first = kept(lists, due - timedelta(minutes=45, seconds=30), 3, None, BERLIN)
    assert "(in 45 min)" in first
    assert kept(lists, due - timedelta(minutes=45, microseconds=1), 3, None, BERLIN) is first
    on_the_minute = kept(lists, due - timedelta(minutes=45), 3, None, BERLIN)
    assert on_the_minute == first and on_the_minute is not first  # the same words, worked out anew
    assert "(in 44 min)" in kept(lists, due - timedelta(minutes=45) + US, 3, None, BERLIN)


def test_a_text_on_a_whole_minute_holds_only_for_that_instant() -> None:
    due = TERM[0].at
    assert render_steady_until(TERM[:1], BERLIN, due - timedelta(hours=3)) == due - timedelta(hours=3)


def test_the_list_moves_on_when_its_first_occurrence_passes() -> None:
    lists = DeadlineLists()
    first_at = TERM[0].at
    before = kept(lists, first_at - timedelta(days=3, seconds=1), 1, None, BERLIN)
    after = kept(lists, first_at, 1, None, BERLIN)  # strictly after now: no longer listed
    assert before != after
    assert after == fresh(first_at, 1, None, BERLIN)


def test_tomorrow_turns_into_hours_at_the_readers_midnight() -> None:
    lists = DeadlineLists()
    new_york = ZONES[1]
    due = TERM[0].at
    midnight = datetime.combine(due.astimezone(new_york).date(), datetime.min.time(), tzinfo=new_york)
    before = kept(lists, midnight - timedelta(hours=2, seconds=1), 2, None, new_york)
    assert before == fresh(midnight - US, 2, None, new_york)
    assert kept(lists, midnight, 2, None, new_york) == fresh(midnight, 2, None, new_york) != before


def test_a_deadline_off_the_whole_minute_still_turns_at_midnight() -> None:
    """Course times are whole minutes, where midnight is one of the minute steps anyway; a
    deadline at hh:mm:30 puts midnight between two of its steps."""
    midnight = berlin(2018, 10, 24)
    odd = Occurrence("assignment", "assignment:x", "X", midnight + timedelta(hours=7, seconds=30))
    now = midnight - timedelta(seconds=20)
    assert render_steady_until([odd], BERLIN, now) == midnight
    assert "(tomorrow)" in render_deadlines([odd], BERLIN, midnight - US, zone_name="Europe/Berlin")
    assert "(in 7 h)" in render_deadlines([odd], BERLIN, midnight, zone_name="Europe/Berlin")


@settings(max_examples=400, deadline=None)
@given(
    index=st.integers(0, len(TERM) - 1),
    before=st.one_of(
        st.integers(-3 * 86_400_000_000, 3 * 86_400_000_000).map(lambda us: timedelta(microseconds=us)),
        st.integers(-4320, 4320).map(lambda m: timedelta(minutes=m)),  # on whole minutes
        st.integers(-4320, 4320).map(lambda m: timedelta(minutes=m, microseconds=-1)),
    ),
    later=st.lists(st.integers(-120_000_000, 7_200_000_000), min_size=1, max_size=6),
    limit=st.integers(1, 20),
    groups=st.sampled_from([None, frozenset({"g1"}), frozenset({"g2", "g3"}), frozenset()]),
    tz=st.sampled_from(ZONES),
)
def test_every_kept_text_is_the_one_worked_out_anew(
    index: int,
    before: timedelta,
    later: list[int],
    limit: int,
    groups: frozenset[str] | None,
    tz: ZoneInfo,
) -> None:
    lists = DeadlineLists()
    now = TERM[index].at - before
    assert kept(lists, now, limit, groups, tz) == fresh(now, limit, groups, tz)
    for step in later:  # forwards, backwards, across minutes, midnights and passing deadlines
        at = now + timedelta(microseconds=step)
        assert kept(lists, at, limit, groups, tz) == fresh(at, limit, groups, tz)


@settings(max_examples=200, deadline=None)
@given(
    index=st.integers(0, len(TERM) - 1),
    before=st.integers(-86_400_000_000, 3 * 86_400_000_000).map(lambda us: timedelta(microseconds=us)),
    tz=st.sampled_from(ZONES),
)
def test_the_text_holds_until_the_instant_it_is_kept_to(index: int, before: timedelta, tz: ZoneInfo) -> None:
    now = TERM[index].at - before
    listed = schedule.upcoming(COURSE, now=now, limit=5)
    until = render_steady_until(listed, tz, now)
    if listed:
        until = min(until, listed[0].at)
    assert until >= now
    if until > now:
        assert fresh(until - US, 5, None, tz) == fresh(now, 5, None, tz)
