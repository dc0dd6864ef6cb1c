"""`domain/reminders.py`: plan, keys, lecture-free days, DST and the grace rule.

The offset rule under test: whole days of an offset are calendar days in the course
zone ("24h before Tue 12:00" is Mon 12:00 local, whatever DST does), the rest is real
time ("2h before" is two real hours earlier)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from idlbot.domain.course import Assignment, Course
from idlbot.domain.reminders import (
    CustomReminder,
    Occurrence,
    Target,
    before,
    decide,
    fill,
    plan,
)
from idlbot.domain.settings import ReminderRule, ReminderSettings
from tests.unit.course_2018 import course_2018

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
RULES = ReminderSettings(
    questions=ReminderRule("questions", offsets=(24 * H, 2 * H), channel="questions", grace=H),
    assignments=ReminderRule("assignments", offsets=(48 * H, 2 * H), channel="assignments", grace=H),
    exercise=ReminderRule("exercise", at=time(8), grace=2 * H),
    nudges=ReminderRule("nudges", offsets=(6 * H,), grace=timedelta(minutes=30)),
)
TERM = (datetime(2018, 9, 1, tzinfo=UTC), datetime(2019, 6, 1, tzinfo=UTC))


def b(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BERLIN)


def spring_course() -> Course:
    """The 2018 course run on to the end of April 2019, with Monday-noon assignments
    right after both DST changes, so offsets of whole days cross them."""
    extra = (
        Assignment("x1", "Autumn", b(2018, 10, 22, 17), b(2018, 10, 29, 12)),
        Assignment("x2", "Spring", b(2019, 3, 25, 17), b(2019, 4, 1, 12)),
    )
    base = course_2018()
    return dataclasses.replace(base, end=date(2019, 4, 30), assignments=base.assignments + extra)


def by_key(course: Course, settings: ReminderSettings = RULES) -> dict[str, Occurrence]:
    return {o.key: o for o in plan(course, settings, start=TERM[0], end=TERM[1])}


def local(o: Occurrence) -> str:
    at = o.fire_at.astimezone(BERLIN)
    return f"{at:%a %Y-%m-%d %H:%M} {at.tzname()}"


def test_keys_are_stable_and_name_the_occurrence() -> None:
    first = by_key(course_2018())
    assert by_key(course_2018()).keys() == first.keys()
    for key in (
        "rem:questions:2018-10-23:-24h",
        "rem:questions:2018-10-23:-2h",
        "rem:assignment:a03:-2h",
        "rem:exercise:g1:2018-10-18:08:00",
        "rem:nudge:a03:-6h",
    ):
        assert key in first


def test_tuesday_noon_stays_noon_local_across_both_dst_changes() -> None:
    plans = by_key(spring_course())
    deadlines = sorted({o.deadline for o in plans.values() if o.kind == "questions" and o.deadline})
    assert all(d.astimezone(BERLIN).time() == time(12) for d in deadlines)
    zones = {d.astimezone(BERLIN).tzname() for d in deadlines}
    assert zones == {"CEST", "CET"}
    assert local(plans["rem:questions:2018-10-23:-24h"]) == "Mon 2018-10-22 12:00 CEST"
    assert local(plans["rem:questions:2018-10-30:-24h"]) == "Mon 2018-10-29 12:00 CET"
    assert local(plans["rem:questions:2019-03-26:-2h"]) == "Tue 2019-03-26 10:00 CET"
    assert local(plans["rem:questions:2019-04-02:-2h"]) == "Tue 2019-04-02 10:00 CEST"


def test_whole_day_offsets_are_calendar_days_across_dst() -> None:
    plans = by_key(spring_course())
    autumn = plans["rem:assignment:x1:-48h"]  # Mon 29 Oct 12:00 CET, back over 28 Oct
    assert local(autumn) == "Sat 2018-10-27 12:00 CEST"
    assert autumn.deadline is not None
    assert autumn.deadline - autumn.fire_at == 49 * H  # the night of the change had 25 h
    spring = plans["rem:assignment:x2:-48h"]  # Mon 1 Apr 12:00 CEST, back over 31 Mar
    assert local(spring) == "Sat 2019-03-30 12:00 CET"
    assert spring.deadline is not None
    assert spring.deadline - spring.fire_at == 47 * H
    assert local(plans["rem:assignment:x2:-2h"]) == "Mon 2019-04-01 10:00 CEST"


def test_sub_day_offsets_are_real_time_across_dst() -> None:
    course = course_2018()
    due = b(2018, 10, 28, 3, 30)  # 03:30 CET, just after the clocks went back
    offset = 2 * H
    fire = before(due, offset, course)
    assert due.astimezone(UTC) - fire.astimezone(UTC) == 2 * H
    assert (fire.astimezone(BERLIN).hour, fire.astimezone(BERLIN).tzname()) == (2, "CEST")
    assert before(b(2018, 10, 30, 12), timedelta(days=1, hours=2), course) == b(2018, 10, 29, 10)


def test_lecture_free_days_suppress_recurring_reminders_only() -> None:
    plans = by_key(course_2018())
    assert not any(k.startswith(("rem:questions:2018-12-25", "rem:questions:2019-01-01")) for k in plans)
    assert "rem:questions:2018-12-18:-24h" in plans and "rem:questions:2019-01-08:-24h" in plans
    sessions = {k for k in plans if k.startswith("rem:exercise:")}
    days = {date.fromisoformat(k.split(":")[3]) for k in sessions}
    assert not any(course_2018().is_lecture_free(d) for d in days)
    assert date(2018, 12, 28) not in days and date(2019, 1, 4) not in days  # g2 Fridays in the break
    assert date(2018, 12, 21) in days  # the last Friday before it
    assert "rem:exercise:g1:2018-12-20:08:00" in sessions
    assert "rem:exercise:g3:2019-01-07:08:00" in sessions
    holiday_course = dataclasses.replace(
        course_2018(),
        assignments=(Assignment("xmas", "Christmas", b(2018, 12, 18), b(2018, 12, 27, 12)),),
    )
    assert "rem:assignment:xmas:-2h" in by_key(holiday_course)


def test_exercise_mornings_go_to_the_group_channel_or_its_members() -> None:
    plans = by_key(course_2018())
    morning = plans["rem:exercise:g1:2018-10-18:08:00"]
    assert local(morning) == "Thu 2018-10-18 08:00 CEST"
    assert morning.target == Target("channel", "exercise-group-1")
    assert "13:00\u201315:00 in G29-K058" in morning.text
    members = dataclasses.replace(RULES, exercise=ReminderRule("exercise", at=time(8), to="members"))
    assert by_key(course_2018(), members)["rem:exercise:g2:2018-10-19:08:00"].target == Target(
        "members", "g2"
    )


def test_questions_text_links_the_issues_and_fills_the_count() -> None:
    o = by_key(course_2018())["rem:questions:2018-10-23:-24h"]
    assert "(https://code.ovgu.de/stober/idl2018/issues)" in o.text
    assert fill(o, 4).endswith("So far 4 questions filed.")
    assert fill(o, 1).endswith("So far 1 question filed.")
    assert "{filed}" not in fill(o, None) and "So far" not in fill(o, None)


def test_custom_reminders_once_weekly_cancelled_and_defused() -> None:
    course = course_2018()
    once = CustomReminder(1, "once", b(2018, 10, 23, 10), "questions", "@all read this", "sstober")
    weekly = CustomReminder(2, "weekly", b(2018, 10, 16, 10), "town_square", "Coffee", "sstober")
    gone = CustomReminder(3, "once", b(2018, 10, 23, 11), "questions", "x", "sstober", cancelled=True)
    plans = {
        o.key: o
        for o in plan(course, ReminderSettings(), start=TERM[0], end=TERM[1], extra=[once, weekly, gone])
    }
    assert plans["rem:custom:1:2018-10-23T10:00"].text == "@\u200ball read this"
    weekly_keys = sorted(k for k in plans if k.startswith("rem:custom:2:"))
    assert weekly_keys[0] == "rem:custom:2:2018-10-16T10:00"
    assert "rem:custom:2:2018-10-30T10:00" in weekly_keys  # 10:00 CET, after the change
    assert "rem:custom:2:2018-12-25T10:00" not in weekly_keys  # lecture-free
    assert not any(k.startswith("rem:custom:3:") for k in plans)


def test_plan_window_is_half_open_and_sorted() -> None:
    course = course_2018()
    start, end = b(2018, 10, 22, 12), b(2018, 10, 23, 12)
    found = plan(course, RULES, start=start, end=end)
    assert found == sorted(found, key=lambda o: (o.fire_at, o.key))
    assert found[0].key == "rem:questions:2018-10-23:-24h"
    assert all(start <= o.fire_at < end for o in found)


def _occ(grace: timedelta, deadline: datetime | None) -> Occurrence:
    return Occurrence("k", "assignment", b(2018, 10, 23, 10), Target("channel", "x"), "t", grace, deadline)


def test_decide_send_late_skip() -> None:
    o = _occ(H, b(2018, 10, 23, 12))
    assert decide(o, b(2018, 10, 23, 10))[0] == "send"
    assert decide(o, b(2018, 10, 23, 10, 1))[0] == "send"
    assert decide(o, b(2018, 10, 23, 10, 10)) == ("late", "late by 10 min (grace 1 h)")
    assert decide(o, b(2018, 10, 23, 11))[0] == "late"
    assert decide(o, b(2018, 10, 23, 11, 1)) == ("skip", "missed by 1 h 1 min, beyond the grace of 1 h")


def test_decide_never_after_the_deadline_even_within_grace() -> None:
    o = _occ(3 * H, b(2018, 10, 23, 11))
    assert decide(o, b(2018, 10, 23, 10, 59))[0] == "late"
    assert decide(o, b(2018, 10, 23, 11)) == ("skip", "deadline passed 0 min ago")
    assert decide(_occ(3 * H, None), b(2018, 10, 23, 12, 59))[0] == "late"


def test_decide_measures_lateness_in_real_time_across_dst() -> None:
    fire = datetime(2018, 10, 28, 2, 30, tzinfo=BERLIN)  # 02:30 CEST (fold=0)
    o = Occurrence("k", "custom", fire, Target("channel", "x"), "t", H)
    later = datetime(2018, 10, 28, 2, 45, fold=1, tzinfo=BERLIN)  # 02:45 CET, 75 min later
    assert decide(o, later)[0] == "skip"
