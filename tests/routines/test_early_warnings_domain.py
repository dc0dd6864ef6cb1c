"""The early warnings' pure parts: the state of a standing (the same evaluation as
`/idl status`), the transitions with their numbers, the texts, the check firings and
the digest."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from idlbot.domain.early_warnings import (
    WarningChange,
    WarningSettings,
    WarningState,
    plan_checks,
    student_warning,
    warning_key,
    warning_state,
    warning_transition,
)
from idlbot.domain.ledger import HandIn, Presentation, Student, StudentLedger
from idlbot.domain.qualification import evaluate
from idlbot.domain.transitions import Transition
from idlbot.domain.warning_digest import digest_text, plan_digests, tutor_groups
from tests.unit.course_2018 import course_2018

BERLIN = ZoneInfo("Europe/Berlin")
COURSE = course_2018()  # 8 assignments, 80 %: 7 on time needed, so one may be missed
BOB = Student("bob", group_id="g1")


def after(aid: str) -> datetime:
    """A few minutes after `aid` was due."""
    found = COURSE.assignment(aid)
    assert found is not None
    return found.due + timedelta(minutes=5)


def ledger(*on_time: str, excused: tuple[str, ...] = (), fails: int = 0) -> StudentLedger:
    hand_ins = tuple(HandIn(a, "on-time", None, source="override", by="sstober") for a in on_time)
    hand_ins += tuple(HandIn(a, "excused", None, source="override", by="sstober") for a in excused)
    presentations = tuple(
        Presentation(f"a0{i + 1}", "fail", "tutor1", datetime(2018, 10, 20, tzinfo=BERLIN))
        for i in range(fails)
    )
    return StudentLedger(BOB, hand_ins, presentations)


def state(entry: StudentLedger, now: datetime) -> WarningState:
    return warning_state(evaluate(entry, COURSE, now=now))


def test_the_states_follow_the_status_forecast() -> None:
    assert state(ledger("a01"), after("a01")) == "ok"
    one_missed = evaluate(ledger(), COURSE, now=after("a01"))
    assert "must hand in all of the remaining 7 on time" in one_missed.forecast
    assert warning_state(one_missed) == "last-chance"
    two_missed = evaluate(ledger("a01"), COURSE, now=after("a03"))
    assert two_missed.forecast.startswith("Qualification is no longer reachable")
    assert warning_state(two_missed) == "unreachable"
    assert (
        state(ledger("a01", excused=("a02", "a03")), after("a03")) == "ok"
    )  # excused: neither counted nor missed
    assert state(ledger(*(f"a0{i}" for i in range(1, 8))), after("a08")) == "ok"  # 7 of 8: met


def test_an_excluded_student_is_in_a_state_of_their_own() -> None:
    assert state(ledger(fails=2), after("a01")) == "excluded"


def test_each_change_gets_the_next_number_and_no_change_gets_none() -> None:
    first = warning_transition(None, "last-chance")
    assert first == Transition(1, "last-chance")
    assert warning_transition(first, "last-chance") is None
    worse = warning_transition(first, "unreachable")
    assert worse == Transition(2, "unreachable")
    back = warning_transition(worse, "ok")
    assert back == Transition(3, "ok")
    assert warning_transition(None, "ok") is None  # never warned: nothing to say


def change(state: WarningState, previous: WarningState = "ok", forecast: str = "F.") -> WarningChange:
    return WarningChange(
        "bob", "17", "g1", 2, state, previous, forecast, datetime(2018, 10, 24, tzinfo=BERLIN)
    )


def test_the_texts_say_what_happened_what_it_means_and_whom_to_talk_to() -> None:
    staff = {"tutors": ("tutor1",), "instructors": ("sstober", "jens")}
    last = student_warning(change("last-chance", forecast="0 of 1 due so far on time."), **staff)
    assert last is not None
    assert "you can miss no more assignments: 0 of 1 due so far on time." in last
    assert (
        "One more missed or late assignment would mean that you cannot sit the exam" in last
        and "`/idl status`" in last
    )
    assert "your tutor @\u200btutor1 or the instructors @\u200bsstober, @\u200bjens" in last
    gone = student_warning(change("unreachable", "last-chance"), **staff)
    assert gone is not None and "you can no longer qualify for the exam this term" in gone
    assert "excused assignment is neither counted nor missed" in gone
    back = student_warning(change("ok", "unreachable"), **staff)
    assert back is not None and "you are back on track" in back
    again = student_warning(change("last-chance", "unreachable"), **staff)
    assert again is not None and "reachable again" in again
    assert student_warning(change("excluded", "last-chance"), **staff) is None  # the exclusion notice says it
    assert student_warning(change("ok", "excluded"), **staff) is None  # and the reinstatement
    reinstated = student_warning(change("unreachable", "excluded"), **staff)  # but out of reach
    assert reinstated is not None and "no longer qualify" in reinstated


def test_one_instructor_and_no_tutor_are_named_right() -> None:
    text = student_warning(change("last-chance"), tutors=(), instructors=("sstober",))
    assert text is not None and "talk to the instructor @\u200bsstober;" in text


def test_the_key_is_per_student_and_transition() -> None:
    assert warning_key(change("unreachable")) == "warn:17:2"


def test_a_check_is_planned_five_minutes_after_each_due_time() -> None:
    checks = list(plan_checks(COURSE))
    assert [c.key for c in checks] == [f"rem:warnings:a0{i}" for i in range(1, 9)]
    assert checks[0].fire_at == after("a01")


def test_the_digest_is_weekly_on_monday_morning_without_the_break() -> None:
    on = WarningSettings(enabled=True)
    days = [o.fire_at.astimezone(BERLIN) for o in plan_digests(COURSE, on)]
    assert all(d.weekday() == 0 and d.hour == 8 for d in days)
    assert not [d for d in days if date(2018, 12, 22) <= d.date() <= date(2019, 1, 6)]
    assert list(plan_digests(COURSE, WarningSettings(enabled=True, digest_enabled=False))) == []
    assert list(plan_digests(COURSE, WarningSettings(enabled=False))) == []


@pytest.mark.parametrize("always", [True, False])
def test_the_digest_lists_who_is_at_risk_and_why_or_says_nobody(always: bool) -> None:
    fine = evaluate(
        StudentLedger(Student("ann", group_id="g1"), ()), COURSE, now=after("a01") - timedelta(hours=1)
    )
    risky = evaluate(StudentLedger(Student("b@d", group_id="g1"), ()), COURSE, now=after("a03"))
    text = digest_text([fine, risky], scope="exercise group g1", day=date(2018, 11, 5), always=always)
    assert text is not None
    assert text.startswith("**At-risk students, week of Mon 05 Nov 2018** (exercise group g1): 1 of 2")
    assert "- @\u200bb@\u200bd (g1): Assignments out of reach" in text
    empty = digest_text([fine], scope="the whole course", day=date(2018, 11, 5), always=always)
    assert (empty is not None) == always
    if always:
        assert empty is not None and empty.endswith("nobody is at risk.")


def test_a_tutor_digest_covers_their_groups() -> None:
    assert tutor_groups(COURSE, "tutor2") == ("g2",)
    assert tutor_groups(COURSE, "nobody") == ()
