"""domain/qualification_render: `/idl status` as the student reads it."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from idlbot.domain.defuse import defuse
from idlbot.domain.ledger import HandIn, Presentation, Student, StudentLedger
from idlbot.domain.person import about
from idlbot.domain.qualification import ItemLine, evaluate
from idlbot.domain.qualification_render import item_text, render_status
from tests.unit.course_2018 import BERLIN, berlin
from tests.unit.test_qualification_support import after_due, make_course, post

ZWSP = "\u200b"
COURSE = make_course(9)
A = COURSE.assignments
NOW = after_due(COURSE, 7)
LEDGER = StudentLedger(
    Student("alice", group_id="g1", team_id="t1"),
    hand_ins=(
        HandIn("a01", "on-time", A[0].due - timedelta(hours=1, minutes=49), by="alice"),
        HandIn("a02", "on-time", A[1].due - timedelta(hours=3), by="alice"),
        HandIn("a03", "late", A[2].due + timedelta(hours=9, minutes=13), by="alice"),
        HandIn("a04", "excused", A[3].due, source="override", by="stober", reason="@all sick note"),
        HandIn("a06", "late", A[5].due + timedelta(minutes=5), by="alice"),
        HandIn(
            "a06",
            "on-time",
            A[5].due + timedelta(days=1),
            source="override",
            by="stober",
            reason="GitLab down",
        ),
        HandIn("a07", "on-time", A[6].due - timedelta(days=1), by="alice"),
    ),
    presentations=(
        Presentation("a01", "ok", "tutor1", A[0].due + timedelta(days=2, hours=13)),
        Presentation("a02", "fail", "tutor1", A[1].due + timedelta(days=2, hours=13), "@channel backprop?"),
    ),
    posts=(post("blog", "blog/alice/week-1", date(2018, 10, 20)),),
)
TEAM = (post("report", "teams/t1/sprint-1", date(2018, 11, 9), "t1"),)

EXPECTED = f"""\
#### Exam qualification: Alice
As of Wed 28 Nov 2018, 00:59 CET: not qualified for the exam.

- ✗ **Assignments on time:** 3 of 8 on time; 7 needed (80 %, rounded up); 1 excused: \
neither counted nor missed
  - a01: on time (pushed Tue 16 Oct 2018, 22:10 CEST)
  - a02: on time, but the presentation failed on Fri 26 Oct 2018, 12:59 CEST \
(tutor1: @{ZWSP}channel backprop?)
  - a03: late (pushed Wed 31 Oct 2018, 09:12 CET, due Tue 30 Oct 2018, 23:59 CET)
  - a04: excused (stober: @{ZWSP}all sick note), neither counted nor missed
  - a05: missed (due Tue 13 Nov 2018, 23:59 CET)
  - a06: on time (set by stober on Wed 21 Nov 2018, 23:59 CET: GitLab down)
  - a07: on time (pushed Mon 26 Nov 2018, 23:59 CET)
  - a08: not yet due (due Tue 04 Dec 2018, 23:59 CET, in 6 days)
  - a09: not yet due (due Tue 11 Dec 2018, 23:59 CET, in 13 days)
- ✓ **Presentations:** 1 fail (one more excludes you from the exam)
  - a01: explained the solution on Fri 19 Oct 2018, 12:59 CEST (tutor1)
  - a02: fail: could not explain it on Fri 26 Oct 2018, 12:59 CEST (tutor1: @{ZWSP}channel backprop?)
- ✓ **Blog posts:** 1 blog post (1 needed)
  - blog/alice/week-1: posted Sat 20 Oct 2018, 12:00 CEST
- ⏳ **Progress reports:** no progress reports by you (1 needed); your team has 1 report, none by you \
(a report counts for its author)
  - teams/t1/sprint-1: by another team member (posted Fri 09 Nov 2018, 12:00 CET); counts for its author, \
not for you
- ⏳ **Group paper:** group paper not recorded yet

**Forecast:** Qualification is no longer reachable because 7 on time are needed and at most 5 still can be \
(3 on time, 2 not yet due).
**At risk:** Assignments out of reach: 7 on time needed, at most 5 possible. \
1 fail: one more means exclusion."""


def test_render_status_full() -> None:
    standing = evaluate(LEDGER, COURSE, now=NOW, team_reports=TEAM)
    assert render_status(standing, "Alice", tz=BERLIN, now=NOW) == EXPECTED


def test_staff_read_the_whole_status_in_the_third_person() -> None:
    """Every "you"/"your" of the student's own view is the student's (defused) name."""
    person = about("alice")
    standing = evaluate(LEDGER, COURSE, now=NOW, team_reports=TEAM, person=person)
    text = render_status(standing, "@alice", tz=BERLIN, now=NOW, person=person)
    expected = (
        EXPECTED.replace("#### Exam qualification: Alice", f"#### Exam qualification: @{ZWSP}alice")
        .replace("excludes you", "excludes alice")
        .replace("by you", "by alice")
        .replace("your team", "alice's team")
        .replace("not for you", "not for alice")
    )
    assert text == expected
    assert not re.search(r"\byou(r)?\b", text, re.IGNORECASE)
    sneaky = about("@here_*x*")
    assert sneaky.subject == defuse("here_*x*") and "@" not in sneaky.subject


def test_render_status_is_deterministic_and_in_the_readers_zone() -> None:
    standing = evaluate(LEDGER, COURSE, now=NOW, team_reports=TEAM)
    tokyo = ZoneInfo("Asia/Tokyo")
    first = render_status(standing, "Alice", tz=tokyo, now=NOW)
    assert first == render_status(standing, "Alice", tz=tokyo, now=NOW)
    assert "a01: on time (pushed Wed 17 Oct 2018, 05:10 JST)" in first
    assert "CET" not in first


def test_label_and_slugs_are_defused() -> None:
    lg = StudentLedger(Student("alice"), posts=(post("blog", "blog/@here", date(2018, 10, 20)),))
    text = render_status(evaluate(lg, COURSE, now=NOW), "@all", tz=BERLIN, now=NOW)
    assert "@all" not in text
    assert "@here" not in text
    assert f"#### Exam qualification: @{ZWSP}all" in text


DUE = berlin(2018, 10, 16, 23, 59)
FAILED_AT = berlin(2018, 10, 18, 14)


@pytest.mark.parametrize(
    ("item", "text"),
    [
        pytest.param(
            ItemLine(
                "a02", "failed", handed_in="late", due=DUE, presented_at=FAILED_AT, presented_by="tutor1"
            ),
            "a02: late, and the presentation failed on Thu 18 Oct 2018, 14:00 CEST (tutor1)",
            id="failed-late",
        ),
        pytest.param(
            ItemLine("a02", "failed", due=DUE, presented_at=FAILED_AT, presented_by="tutor1", note="n/a"),
            "a02: not handed in, and the presentation failed on Thu 18 Oct 2018, 14:00 CEST (tutor1: n/a)",
            id="failed-without-hand-in",
        ),
        pytest.param(
            ItemLine(
                "a03", "late", at=FAILED_AT, due=DUE, source="override", by="stober", reason="tag moved"
            ),
            "a03: late (due Tue 16 Oct 2018, 23:59 CEST) "
            "(set by stober on Thu 18 Oct 2018, 14:00 CEST: tag moved)",
            id="late-override",
        ),
        pytest.param(
            ItemLine("a04", "missed", due=DUE, source="override", by="stober"),
            "a04: missed (due Tue 16 Oct 2018, 23:59 CEST) (set by stober)",
            id="missed-override",
        ),
        pytest.param(
            ItemLine("a05", "excused", due=DUE), "a05: excused, neither counted nor missed", id="excused"
        ),
        pytest.param(
            ItemLine("teams/t1/w1", "report", at=FAILED_AT),
            "teams/t1/w1: posted Thu 18 Oct 2018, 14:00 CEST",
            id="own-report",
        ),
    ],
)
def test_item_text(item: ItemLine, text: str) -> None:
    assert item_text(item, tz=BERLIN, now=FAILED_AT) == text
