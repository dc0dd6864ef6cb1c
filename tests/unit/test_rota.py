"""The session-summary rota's rules: a fair, deterministic pick; which page is a summary
of which class; the dates people type."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idlbot.domain.errors import UserError
from idlbot.domain.rota import (
    Pick,
    RotaState,
    SummaryPage,
    fair_pick,
    page_there,
    project,
    summary_day,
    tie_rank,
)
from idlbot.domain.rota_text import class_day, parse_day

WED = date(2018, 10, 10)
NAMES = ("alice", "bob", "carol", "dave", "erin")


def _weeks(n: int) -> list[date]:
    return [WED + timedelta(days=7 * i) for i in range(n)]


def test_the_fewest_picks_win_and_ties_follow_the_hash_not_the_alphabet() -> None:
    picks = [Pick(WED, "alice"), Pick(WED + timedelta(7), "bob")]
    day = WED + timedelta(14)
    assert fair_pick(day, {"alice", "bob", "carol"}, picks) == "carol"
    firsts = {fair_pick(d, set(NAMES), []) for d in _weeks(12)}
    assert len(firsts) > 1  # not always the alphabetically first
    assert fair_pick(WED, set(NAMES), []) == min(NAMES, key=lambda n: tie_rank(n, WED))


def test_the_pick_is_reproducible_and_ignores_the_day_itself() -> None:
    picks = [Pick(WED, "alice")]
    assert fair_pick(WED, set(NAMES), picks) == fair_pick(WED, set(reversed(NAMES)), picks)
    assert fair_pick(WED, set(), picks) is None


def test_everyone_is_picked_once_before_anyone_twice() -> None:
    state = RotaState(frozenset(NAMES))
    picked = [p.writer for p in project(state, _weeks(10))]
    assert sorted(picked[:5]) == sorted(NAMES)
    assert sorted(picked[5:]) == sorted(NAMES)


def test_an_excused_or_inactive_student_is_skipped_for_that_date() -> None:
    days = _weeks(3)
    first = fair_pick(days[0], set(NAMES), [])
    assert first is not None
    state = RotaState(frozenset(NAMES), excused={days[0]: frozenset({first})})
    assert state.pick(days[0]) not in (first, None)
    assert RotaState(frozenset(NAMES) - {first}).pick(days[0]) != first


def test_manual_and_swapped_picks_count() -> None:
    state = RotaState(
        frozenset({"alice", "bob"}),
        picks={
            WED: Pick(WED, "alice", "assigned"),
            WED + timedelta(7): Pick(WED + timedelta(7), "alice", "swapped"),
        },
    )
    assert state.pick(WED + timedelta(14)) == "bob"


@settings(max_examples=60, deadline=None)
@given(
    classes=st.integers(min_value=1, max_value=30),
    absent=st.lists(st.tuples(st.integers(0, 29), st.sampled_from(NAMES[3:])), max_size=20),
)
def test_always_available_students_never_differ_by_more_than_one(
    classes: int, absent: list[tuple[int, str]]
) -> None:
    """alice, bob and carol are always there; dave and erin miss some classes (excused).
    Auto picks only: the counts of the always-available students stay within one."""
    days = _weeks(classes)
    excused: dict[date, frozenset[str]] = {}
    for i, name in absent:
        if i < classes:
            excused[days[i]] = excused.get(days[i], frozenset()) | {name}
    picked = project(RotaState(frozenset(NAMES), excused=excused), days)
    assert len(picked) == classes
    assert all(p.writer not in excused.get(p.day, frozenset()) for p in picked)
    counts = Counter(p.writer for p in picked)
    steady = [counts[n] for n in NAMES[:3]]
    assert max(steady) - min(steady) <= 1
    assert all(counts[n] <= max(steady) + 1 for n in NAMES)


def test_summary_pages_are_the_prefix_and_a_date_and_anything_below() -> None:
    assert summary_day("summaries/2018-10-24", "summaries") == date(2018, 10, 24)
    assert summary_day("Summaries/2018-10-24/notes", "/summaries/") == date(2018, 10, 24)
    assert summary_day("summaries/2018-13-24", "summaries") is None
    assert summary_day("summaries/week-1", "summaries") is None
    assert summary_day("blog/alice/2018-10-24", "summaries") is None
    assert summary_day("summaries-old/2018-10-24", "summaries") is None


def test_a_page_counts_if_the_writer_or_staff_created_it() -> None:
    page = SummaryPage(WED, "summaries/2018-10-10", "Alice")
    assert page_there([page], "alice", ()) == page
    assert page_there([page], "bob", ()) is None
    assert page_there([page], "bob", ("alice",)) == page
    assert page_there([], "alice", ()) is None


def test_dates_as_the_bot_reads_them() -> None:
    monday = date(2018, 10, 22)
    assert parse_day("2018-10-24", monday) == date(2018, 10, 24)
    assert parse_day("wed", monday) == date(2018, 10, 24)
    assert parse_day("Monday", monday) == monday
    assert parse_day("tomorrow", monday) == date(2018, 10, 23)
    for bad in ("24.10.2018", "2018-02-30", "next week", ""):
        with pytest.raises(UserError, match="`2018-10-24`"):
            parse_day(bad, monday)


def test_a_date_without_class_names_the_nearest_ones() -> None:
    classes = _weeks(4)
    with pytest.raises(UserError) as err:
        class_day("2018-10-25", date(2018, 10, 22), classes)
    assert "Wed 2018-10-24 and Wed 2018-10-31" in str(err.value)
    assert class_day("wed", date(2018, 10, 22), classes) == date(2018, 10, 24)
