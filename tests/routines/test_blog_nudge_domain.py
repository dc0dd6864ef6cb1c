"""The blog nudge's pure parts: the course week, which weeks get a nudge (none in the
Christmas break), counting posts, and the text."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from idlbot.domain.blog_nudge import (
    BlogNudgeSettings,
    blog_counts,
    course_week,
    mostly_lecture_free,
    nudge_days,
    nudge_text,
    plan_nudges,
    week_start,
)
from idlbot.domain.ledger import WikiPost
from idlbot.domain.reminders import decide
from tests.unit.course_2018 import course_2018

BERLIN = ZoneInfo("Europe/Berlin")
ON = BlogNudgeSettings(enabled=True)


def test_the_course_week_is_monday_to_sunday() -> None:
    assert course_week(date(2018, 10, 14)) == (date(2018, 10, 8), date(2018, 10, 14))
    assert course_week(date(2018, 10, 15)) == (date(2018, 10, 15), date(2018, 10, 21))


def test_one_nudge_each_sunday_of_the_term_and_none_in_the_christmas_break() -> None:
    days = list(nudge_days(course_2018(), ON))
    assert days[0] == date(2018, 10, 14) and days[-1] == date(2019, 2, 3)
    assert all(d.weekday() == 6 for d in days)
    assert not [d for d in days if date(2018, 12, 22) <= d <= date(2019, 1, 6)]
    assert date(2018, 12, 16) in days and date(2019, 1, 13) in days
    assert len(days) == len(set(days)) == 17 - 1 - 3 + 1  # 14 Oct .. 3 Feb, less 23/30 Dec, 6 Jan


def test_a_week_mostly_lecture_free_is_skipped_even_if_its_nudge_day_is_not() -> None:
    course = course_2018()
    # Tuesday of the week of 31 Dec: all seven days are in the break
    assert mostly_lecture_free(course, date(2019, 1, 1))
    assert not mostly_lecture_free(course, date(2018, 12, 19))  # only Sat/Sun of that week
    wednesdays = list(nudge_days(course, BlogNudgeSettings(enabled=True, weekday=2)))
    assert date(2018, 12, 19) in wednesdays
    assert date(2018, 12, 26) not in wednesdays and date(2019, 1, 2) not in wednesdays


def test_the_firing_is_at_sunday_18_local_across_dst_and_ends_with_the_week() -> None:
    firings = {o.key: o for o in plan_nudges(course_2018(), ON)}
    oct28 = firings["rem:blog_nudge:2018-10-28"]  # the night clocks went back
    assert oct28.fire_at.astimezone(BERLIN).time() == time(18, 0)
    assert oct28.deadline == datetime(2018, 10, 29, 0, 0, tzinfo=BERLIN)
    assert decide(oct28, oct28.fire_at + timedelta(hours=5))[0] == "late"
    assert decide(oct28, oct28.fire_at + timedelta(hours=7))[0] == "skip"  # the week is over


def test_off_plans_nothing() -> None:
    assert list(plan_nudges(course_2018(), BlogNudgeSettings(enabled=False))) == []


def test_posts_are_counted_once_per_page_and_only_up_to_now() -> None:
    monday = datetime(2018, 10, 15, tzinfo=BERLIN)
    now = datetime(2018, 10, 21, 18, tzinfo=BERLIN)
    posts = [
        WikiPost("blog", "blog/a/one", datetime(2018, 10, 10, tzinfo=BERLIN)),
        WikiPost("blog", "blog/a/one", datetime(2018, 10, 16, tzinfo=BERLIN)),  # an edit: still old
        WikiPost("blog", "blog/a/two", datetime(2018, 10, 17, tzinfo=BERLIN)),
        WikiPost("blog", "blog/a/later", datetime(2018, 10, 21, 20, tzinfo=BERLIN)),
        WikiPost("report", "teams/x/r", datetime(2018, 10, 17, tzinfo=BERLIN)),
    ]
    assert blog_counts(posts, week_start=monday, now=now) == (2, 1)
    assert blog_counts(posts[:2], week_start=monday, now=now) == (1, 0)
    assert week_start(course_2018(), now) == monday


def test_the_text_counts_posts_asks_for_one_a_week_and_says_how_to_mute() -> None:
    none = nudge_text(0, date(2018, 10, 15))
    assert "no learning-blog post yet" in none and "Mon 15 Oct to Sun 21 Oct" in none
    assert "about one post per week" in none and "`/idl remind off`" in none
    assert "1 learning-blog post so far" in nudge_text(1, date(2018, 10, 15))
    assert "3 learning-blog posts so far" in nudge_text(3, date(2018, 10, 15))
