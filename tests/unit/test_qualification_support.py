"""Builders shared by the qualification, overview and chart tests (no tests here): courses
with N weekly assignments and ledgers written as one letter per assignment, so a table row
reads like a grade sheet."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta

from idlbot.domain.course import Assignment, Course, Rules
from idlbot.domain.ledger import HandIn, Presentation, Student, StudentLedger, WikiPost
from tests.unit.course_2018 import BERLIN, course_2018

FIRST_DUE = datetime(2018, 10, 16, 23, 59, tzinfo=BERLIN)


def make_course(count: int, quota: float = 0.8, **rules: int | bool) -> Course:
    """The 2018 course with `count` assignments, due weekly (Tue 23:59) from 16 Oct."""
    assignments = tuple(
        Assignment(
            id=f"a{k + 1:02d}",
            title=f"Assignment {k + 1}",
            release=datetime.combine(FIRST_DUE.date() - timedelta(days=6), time(17), BERLIN)
            + timedelta(weeks=k),
            due=datetime.combine(FIRST_DUE.date() + timedelta(weeks=k), time(23, 59), BERLIN),
        )
        for k in range(count)
    )
    base = course_2018()
    last = assignments[-1].due.date() + timedelta(weeks=1) if assignments else base.end
    return dataclasses.replace(
        base,
        end=max(base.end, last),
        assignments=assignments,
        rules=Rules(on_time_quota=quota, **rules),  # type: ignore[arg-type]
    )


def after_due(course: Course, due: int) -> datetime:
    """An instant with exactly `due` assignments past their due (0: before the first)."""
    if due == 0:
        return course.assignments[0].due - timedelta(days=1)
    return course.assignments[due - 1].due + timedelta(hours=1)


def ledger(course: Course, pattern: str, *, student: Student | None = None, **extra: object) -> StudentLedger:
    """One letter per assignment: O on time, L late, E excused (override), F on time
    with a failed presentation, f late with a failed presentation, X a GitLab
    "missing" record, - nothing."""
    hand_ins: list[HandIn] = []
    presentations: list[Presentation] = []
    for a, letter in zip(course.assignments, pattern, strict=False):
        if letter in "OF":
            hand_ins.append(HandIn(a.id, "on-time", a.due - timedelta(hours=2), by="alice"))
        elif letter in "Lf":
            hand_ins.append(HandIn(a.id, "late", a.due + timedelta(hours=10), by="alice"))
        elif letter == "E":
            hand_ins.append(
                HandIn(a.id, "excused", a.due, source="override", by="stober", reason="sick note")
            )
        elif letter == "X":
            hand_ins.append(HandIn(a.id, "missing", None))
        if letter in "Ff":
            presentations.append(Presentation(a.id, "fail", "tutor1", a.due + timedelta(days=2), "no idea"))
    return StudentLedger(
        student=student or Student("alice", gitlab="alice", group_id="g1", team_id="t1"),
        hand_ins=tuple(hand_ins),
        presentations=tuple(presentations),
        **extra,  # type: ignore[arg-type]
    )


def post(kind: str, slug: str, day: date, team_id: str | None = None) -> WikiPost:
    return WikiPost(kind, slug, datetime.combine(day, time(12), BERLIN), team_id)  # type: ignore[arg-type]
