"""The 2018 course as literal domain objects, so schedule and rendering tests do not
depend on the config loader (test_config checks that the example file matches)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from idlbot.domain.course import (
    Assignment,
    Course,
    ExerciseGroup,
    LectureFree,
    Rules,
    WeeklyClass,
    WeeklyDeadline,
)

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


def berlin(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BERLIN)


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def _assignment(n: int, release: date, due: date) -> Assignment:
    return Assignment(
        id=f"a{n:02d}",
        title=f"Assignment {n}",
        release=datetime.combine(release, time(17, 0), BERLIN),
        due=datetime.combine(due, time(23, 59), BERLIN),
    )


def course_2018() -> Course:
    weeks = [(date(2018, 10, 10 + 7 * k), date(2018, 10, 16 + 7 * k)) for k in range(3)]
    more = [
        (date(2018, 10, 31), date(2018, 11, 6)),
        (date(2018, 11, 7), date(2018, 11, 13)),
        (date(2018, 11, 14), date(2018, 11, 20)),
        (date(2018, 11, 21), date(2018, 11, 27)),
        (date(2018, 11, 28), date(2018, 12, 4)),
    ]
    return Course(
        name="Introduction to Deep Learning",
        term="Winter 2018/19",
        tz=BERLIN,
        start=date(2018, 10, 10),
        end=date(2019, 2, 8),
        questions=WeeklyDeadline(name="Questions", weekday=1, at=time(12, 0)),
        questions_url="https://code.ovgu.de/stober/idl2018/issues",
        assignments=tuple(_assignment(n, r, d) for n, (r, d) in enumerate(weeks + more, start=1)),
        groups=(
            ExerciseGroup(
                "g1",
                "Exercise group 1",
                3,
                time(13),
                time(15),
                "G29-K058",
                date(2018, 10, 18),
                ("tutor1",),
                "exercise-group-1",
            ),
            ExerciseGroup(
                "g2",
                "Exercise group 2",
                4,
                time(11),
                time(13),
                "G29-335",
                date(2018, 10, 19),
                ("tutor2",),
                "exercise-group-2",
            ),
            ExerciseGroup(
                "g3",
                "Exercise group 3",
                0,
                time(11),
                time(13),
                "G29-E037",
                date(2018, 10, 22),
                ("tutor3",),
                "exercise-group-3",
            ),
        ),
        lecture_free=(LectureFree("Christmas break", date(2018, 12, 22), date(2019, 1, 6)),),
        rules=Rules(),
        classes=WeeklyClass(weekday=2, start=time(13, 15), end=time(14, 45)),
    )
