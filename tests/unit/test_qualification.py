"""domain/qualification: the rule engine over the boundary cases of the course rules.

Each row: assignments in the course, quota, the grade sheet (see `ledger()`), how many
are due at `now`, then (on_time, due, required, remaining, can_miss, fails), the
assignment rule's verdict and the exact forecast."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest

from idlbot.domain.ledger import HandIn, Presentation, Student, StudentLedger
from idlbot.domain.person import about
from idlbot.domain.qualification import effective_hand_in, evaluate
from idlbot.domain.qualification_forecast import quota_text, required_on_time
from tests.unit.course_2018 import berlin
from tests.unit.test_qualification_support import after_due, ledger, make_course, post

UNREACHABLE = "Qualification is no longer reachable because "

CASES = [
    # quota rounding: exact, never float
    pytest.param(9, 0.8, "OOOOOOOO-", 9, (8, 9, 8, 0, 0, 0), "met",
                 "8 of 9 due so far on time; none remain, and you have the 8 needed.",
                 id="80%-of-9-needs-8-met"),
    pytest.param(9, 0.8, "OOOOOOO--", 9, (7, 9, 8, 0, 0, 0), "failed",
                 UNREACHABLE + "8 on time are needed and at most 7 still can be (7 on time, 0 not yet due).",
                 id="80%-of-9-seven-is-not-enough"),
    pytest.param(10, 0.8, "OOOOOOOO--", 10, (8, 10, 8, 0, 0, 0), "met",
                 "8 of 10 due so far on time; none remain, and you have the 8 needed.",
                 id="80%-of-10-needs-8"),
    pytest.param(5, 0.8, "OOOO-", 5, (4, 5, 4, 0, 0, 0), "met",
                 "4 of 5 due so far on time; none remain, and you have the 4 needed.", id="80%-of-5-needs-4"),
    pytest.param(5, 0.8, "OOO-L", 5, (3, 5, 4, 0, 0, 0), "failed",
                 UNREACHABLE + "4 on time are needed and at most 3 still can be (3 on time, 0 not yet due).",
                 id="80%-of-5-three-is-not-enough"),
    pytest.param(25, 0.56, "O" * 14 + "-" * 11, 25, (14, 25, 14, 0, 0, 0), "met",
                 "14 of 25 due so far on time; none remain, and you have the 14 needed.",
                 id="56%-of-25-is-14-not-float-15"),
    # late, excused, failed presentations
    pytest.param(9, 0.8, "LLLLLLLLL", 9, (0, 9, 8, 0, 0, 0), "failed",
                 UNREACHABLE + "8 on time are needed and at most 0 still can be (0 on time, 0 not yet due).",
                 id="late-only"),
    pytest.param(9, 0.8, "OOOOOOOE-", 9, (7, 8, 7, 0, 0, 0), "met",
                 "7 of 8 due so far on time; none remain, and you have the 7 needed.",
                 id="excused-not-counted"),
    pytest.param(9, 0.8, "EEEEEEEEE", 9, (0, 0, 0, 0, 0, 0), "met",
                 "No assignment counts in this course, so none can be missed.", id="all-excused"),
    pytest.param(9, 0.8, "FOOOO----", 5, (4, 5, 8, 4, 0, 1), "pending",
                 "4 of 5 due so far on time; you must hand in all of the remaining 4 on time.",
                 id="failed-presentation-of-on-time-hand-in"),
    pytest.param(10, 0.6, "FfOOO-----", 5, (3, 5, 6, 5, 2, 2), "pending",
                 UNREACHABLE + "you have 2 fails and 2 fails exclude you from the exam.",
                 id="second-fail-excludes"),
    # not yet due is never missed; the forecast wording
    pytest.param(9, 0.6, "OOOOO-L--", 7, (5, 7, 6, 2, 1, 0), "pending",
                 "5 of 7 due so far on time; you can miss at most 1 more of the remaining 2.",
                 id="issue-example-miss-1-more-of-2"),
    pytest.param(9, 0.8, "OOOOO-X-X", 6, (5, 6, 8, 3, 0, 0), "pending",
                 "5 of 6 due so far on time; you must hand in all of the remaining 3 on time.",
                 id="gitlab-missing-record-before-due-is-open"),
    pytest.param(10, 0.6, "OOOOO-L---", 7, (5, 7, 6, 3, 2, 0), "pending",
                 "5 of 7 due so far on time; you can miss at most 2 more of the remaining 3.",
                 id="plural-miss-2-more-of-3"),
    pytest.param(9, 0.8, "OOOOOOO--", 8, (7, 8, 8, 1, 0, 0), "pending",
                 "7 of 8 due so far on time; you must hand in the remaining one on time.",
                 id="singular-the-remaining-one"),
    pytest.param(9, 0.8, "OOOOOO-O-", 8, (7, 8, 8, 1, 0, 0), "pending",
                 "7 of 8 due so far on time; you must hand in the remaining one on time.",
                 id="a-miss-mid-term"),
    pytest.param(9, 0.8, "OOOOOOOO-", 8, (8, 8, 8, 1, 1, 0), "met",
                 "8 of 8 due so far on time; you already have the 8 needed.", id="met-before-the-end"),
    pytest.param(9, 0.8, "OOOOOOOO-", 7, (8, 7, 8, 1, 1, 0), "met",
                 "7 of 7 due so far on time (plus 1 handed in early); you already have the 8 needed.",
                 id="handed-in-early"),
    pytest.param(9, 0.8, "---------", 0, (0, 0, 8, 9, 1, 0), "pending",
                 "Nothing is due yet; you can miss at most 1 of the remaining 9.", id="none-due"),
    pytest.param(9, 0.8, "---------", 9, (0, 9, 8, 0, 0, 0), "failed",
                 UNREACHABLE + "8 on time are needed and at most 0 still can be (0 on time, 0 not yet due).",
                 id="all-due-none-handed-in"),
    pytest.param(1, 0.8, "O", 1, (1, 1, 1, 0, 0, 0), "met",
                 "1 of 1 due so far on time; none remain, and you have the 1 needed.", id="singular-1-of-1"),
]  # fmt: skip


@pytest.mark.parametrize(("count", "quota", "sheet", "due", "numbers", "verdict", "forecast"), CASES)
def test_rule_engine(
    count: int,
    quota: float,
    sheet: str,
    due: int,
    numbers: tuple[int, int, int, int, int, int],
    verdict: str,
    forecast: str,
) -> None:
    course = make_course(count, quota)
    s = evaluate(ledger(course, sheet), course, now=after_due(course, due))
    assert (s.on_time_count, s.due_count, s.required, s.remaining, s.can_miss, s.fails) == numbers
    assert s.rule("assignments").verdict == verdict
    assert s.forecast == forecast
    assert s.possible == s.on_time_count + s.remaining
    for item in s.rule("assignments").items:  # never missed before the due
        assert item.due is not None
        assert item.status != "missed" or item.due <= after_due(course, due)


@pytest.mark.parametrize(("count", "quota", "sheet", "due", "numbers", "verdict", "forecast"), CASES)
def test_the_forecast_for_staff_names_the_student(
    count: int,
    quota: float,
    sheet: str,
    due: int,
    numbers: tuple[int, int, int, int, int, int],
    verdict: str,
    forecast: str,
) -> None:
    """The same forecast, read by a tutor: "alice has", "alice can miss", never "you"."""
    course = make_course(count, quota)
    s = evaluate(ledger(course, sheet), course, now=after_due(course, due), person=about("alice"))
    third = (
        forecast.replace("you have", "alice has")
        .replace("you already have", "alice already has")
        .replace("exclude you", "exclude alice")
        .replace("you ", "alice ")
    )
    assert s.forecast == third
    assert "you" not in s.forecast


@pytest.mark.parametrize(
    ("quota", "counted", "required"),
    [
        (0.8, 9, 8),
        (0.8, 10, 8),
        (0.8, 5, 4),
        (0.8, 8, 7),
        (0.8, 0, 0),
        (0.56, 25, 14),
        (0.14, 50, 7),
        (1.0, 7, 7),
    ],
    ids=lambda v: str(v),
)
def test_required_is_exact(quota: float, counted: int, required: int) -> None:
    assert required_on_time(quota, counted) == required


@pytest.mark.parametrize(
    ("quota", "text"), [(0.8, "80 %"), (0.75, "75 %"), (2 / 3, "66.67 %"), (0.125, "12.5 %")]
)
def test_quota_text(quota: float, text: str) -> None:
    assert quota_text(quota) == text


def test_status_line_says_excused_is_neither_counted_nor_missed() -> None:
    course = make_course(9)
    s = evaluate(ledger(course, "OOOOOOOE-"), course, now=after_due(course, 9))
    assert s.rule("assignments").summary == (
        "7 of 8 on time; 7 needed (80 %, rounded up); 1 excused: neither counted nor missed"
    )
    assert s.excused_count == 1
    assert s.counted_total == 8


A01 = "a01"
DUE = make_course(9).assignments[0].due
GL_ON_TIME = HandIn(A01, "on-time", DUE - timedelta(hours=1))
GL_LATE = HandIn(A01, "late", DUE + timedelta(hours=1))
OV_ON_TIME = HandIn(A01, "on-time", DUE + timedelta(days=1), source="override", by="stober", reason="mail")
OV_LATE = HandIn(A01, "late", DUE + timedelta(days=2), source="override", by="stober", reason="recheck")
OV_UNDATED = HandIn(A01, "excused", None, source="override", by="stober")


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param((GL_LATE, OV_ON_TIME), OV_ON_TIME, id="override-beats-gitlab"),
        pytest.param((OV_ON_TIME, GL_LATE), OV_ON_TIME, id="override-beats-later-gitlab"),
        pytest.param((OV_ON_TIME, OV_LATE), OV_LATE, id="latest-override-wins"),
        pytest.param((OV_LATE, OV_ON_TIME), OV_LATE, id="latest-by-time-not-position"),
        pytest.param((OV_UNDATED, OV_ON_TIME), OV_ON_TIME, id="undated-override-ranks-first"),
        pytest.param((GL_ON_TIME, GL_LATE), GL_ON_TIME, id="re-push-after-deadline-keeps-on-time"),
        pytest.param((GL_LATE,), GL_LATE, id="late-only"),
        pytest.param((), None, id="nothing"),
    ],
)
def test_effective_hand_in(records: tuple[HandIn, ...], expected: HandIn | None) -> None:
    assert effective_hand_in(records) == expected


def test_override_changes_the_count() -> None:
    course = make_course(1)
    base = StudentLedger(Student("alice"), hand_ins=(GL_LATE,))
    assert evaluate(base, course, now=after_due(course, 1)).on_time_count == 0
    fixed = dataclasses.replace(base, hand_ins=(GL_LATE, OV_ON_TIME))
    assert evaluate(fixed, course, now=after_due(course, 1)).on_time_count == 1


def test_a_good_presentation_is_not_a_fail() -> None:
    course = make_course(9)
    lg = dataclasses.replace(
        ledger(course, "O"), presentations=(Presentation("a01", "ok", "tutor1", after_due(course, 1)),)
    )
    s = evaluate(lg, course, now=after_due(course, 1))
    assert (s.fails, s.on_time_count, s.at_risk) == (0, 1, False)
    assert s.rule("presentations").summary == "no fails (2 more exclude you from the exam)"


@pytest.mark.parametrize(
    ("sheet", "limit", "verdict", "summary", "reason"),
    [
        ("O", 2, "met", "no fails (2 more exclude you from the exam)", None),
        ("F", 2, "met", "1 fail (one more excludes you from the exam)", "1 fail: one more means exclusion."),
        ("FF", 2, "failed", "2 fails: excluded from the exam", "Excluded: 2 fails."),
        (
            "FF",
            3,
            "met",
            "2 fails (one more excludes you from the exam)",
            "2 fails: one more means exclusion.",
        ),
        ("F", 1, "failed", "1 fail: excluded from the exam", "Excluded: 1 fail."),
    ],
    ids=["no-fail", "first-fail-at-risk", "second-fail-excluded", "limit-3", "limit-1"],
)
def test_fails(sheet: str, limit: int, verdict: str, summary: str, reason: str | None) -> None:
    course = make_course(9, 0.5, fails_to_exclusion=limit)
    s = evaluate(ledger(course, sheet), course, now=after_due(course, 2))
    rule = s.rule("presentations")
    assert (rule.verdict, rule.summary) == (verdict, summary)
    assert (reason in s.risk_reasons) if reason else not s.at_risk
    assert s.excluded is (verdict == "failed")
    if verdict == "failed":
        assert s.qualified == "no"
        assert s.severity == 3
        assert s.forecast.startswith(UNREACHABLE + f"you have {s.fails} fail")


def test_a_fail_of_an_unknown_assignment_still_counts() -> None:
    course = make_course(3)
    lg = StudentLedger(
        Student("alice"), presentations=(Presentation("old", "fail", "tutor1", berlin(2018, 10, 20)),)
    )
    assert evaluate(lg, course, now=after_due(course, 1)).fails == 1


TERM_END = make_course(1).end  # Fri 08 Feb 2019
IN_TERM = berlin(2018, 12, 1, 12)
LAST_WEEKS = berlin(2019, 1, 25, 12)  # 14 days before the end
AFTER_TERM = berlin(2019, 2, 9, 12)


@pytest.mark.parametrize(
    ("now", "blogs", "paper", "blog", "paper_verdict", "qualified"),
    [
        pytest.param(IN_TERM, 0, None, "pending", "pending", "open", id="in-term-pending"),
        pytest.param(IN_TERM, 1, True, "met", "met", "open", id="in-term-met-report-pending"),
        pytest.param(AFTER_TERM, 0, None, "failed", "pending", "no", id="after-term-blog-failed"),
        pytest.param(AFTER_TERM, 2, False, "met", "failed", "no", id="paper-rejected"),
    ],
)
def test_project_rules(
    now: datetime, blogs: int, paper: bool | None, blog: str, paper_verdict: str, qualified: str
) -> None:
    course = make_course(1)
    posts = tuple(post("blog", f"blog/alice/{k}", date(2018, 11, 1 + k)) for k in range(blogs))
    lg = ledger(course, "O", posts=posts, group_paper=paper)
    s = evaluate(lg, course, now=now)
    assert s.rule("blog").verdict == blog
    assert s.rule("paper").verdict == paper_verdict
    assert s.rule("report").verdict == ("failed" if now == AFTER_TERM else "pending")
    assert s.qualified == qualified


def test_everything_met_is_qualified() -> None:
    course = make_course(1)
    posts = (
        post("blog", "blog/alice/1", date(2018, 11, 1)),
        post("report", "teams/t1/w1", date(2018, 11, 2), "t1"),
    )
    s = evaluate(ledger(course, "O", posts=posts, group_paper=True), course, now=AFTER_TERM)
    assert s.qualified == "yes"
    assert not s.at_risk
    assert [r.verdict for r in s.rules] == ["met"] * 5


def test_the_same_page_twice_is_one_post() -> None:
    course = make_course(1)
    twice = (post("blog", "blog/alice/1", date(2018, 11, 1)), post("blog", "blog/alice/1", date(2018, 11, 3)))
    assert evaluate(ledger(course, "O", posts=twice), course, now=IN_TERM).blog_count == 1


def test_a_team_report_written_by_another_member_does_not_count() -> None:
    course = make_course(1)
    bobs = post("report", "teams/t1/week-3", date(2018, 11, 7), "t1")
    s = evaluate(ledger(course, "O"), course, now=IN_TERM, team_reports=(bobs,))
    report = s.rule("report")
    assert s.report_count == 0
    assert report.verdict == "pending"
    assert report.summary == (
        "no progress reports by you (1 needed); "
        "your team has 1 report, none by you (a report counts for its author)"
    )
    assert [(i.key, i.status) for i in report.items] == [("teams/t1/week-3", "team-report")]
    # the author's own ledger holds it, and for the author it counts
    bob = ledger(course, "O", student=Student("bob", team_id="t1"), posts=(bobs,))
    assert evaluate(bob, course, now=IN_TERM, team_reports=(bobs,)).rule("report").verdict == "met"
    # only the team-mates' reports are listed as "by other members"
    mine = post("report", "teams/t1/week-2", date(2018, 10, 31), "t1")
    s = evaluate(ledger(course, "O", posts=(mine,)), course, now=IN_TERM, team_reports=(mine, bobs))
    assert (
        s.rule("report").summary
        == "1 progress report by you (1 needed); your team has 1 more report by other members"
    )


def test_roster_change_mid_term_keeps_every_record() -> None:
    """A student who moves exercise group and project team keeps their
    hand-ins, fails and reports; the rules read only the student's own records."""
    course = make_course(9)
    old_report = post("report", "teams/t1/week-2", date(2018, 10, 31), "t1")
    before = ledger(
        course, "OOFOL", student=Student("alice", group_id="g1", team_id="t1"), posts=(old_report,)
    )
    after = dataclasses.replace(before, student=Student("alice", group_id="g3", team_id="t2"))
    new_team = (post("report", "teams/t2/week-5", date(2018, 11, 21), "t2"),)
    now = after_due(course, 6)
    s1 = evaluate(before, course, now=now)
    s2 = evaluate(after, course, now=now, team_reports=new_team)
    fields = (
        "on_time_count",
        "due_count",
        "required",
        "remaining",
        "can_miss",
        "fails",
        "report_count",
        "forecast",
    )
    assert [getattr(s1, f) for f in fields] == [getattr(s2, f) for f in fields]
    assert s2.rule("report").verdict == "met"
    assert (s2.student.group_id, s2.student.team_id) == ("g3", "t2")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(berlin(2019, 1, 18, 12), (), id="22-days-left-quiet"),
        pytest.param(
            berlin(2019, 1, 19, 12),
            (
                "0 of 1 blog posts so far; the term ends in 20 days.",
                "0 of 1 progress reports so far; the term ends in 20 days.",
                "Group paper not recorded yet; the term ends in 20 days.",
            ),
            id="last-3-weeks",
        ),
        pytest.param(
            berlin(2019, 2, 8, 12),
            (
                "0 of 1 blog posts so far; the term ends today.",
                "0 of 1 progress reports so far; the term ends today.",
                "Group paper not recorded yet; the term ends today.",
            ),
            id="last-day",
        ),
        pytest.param(
            AFTER_TERM,
            (
                "Only 0 of 1 blog posts by the end of the term.",
                "Only 0 of 1 progress reports by the end of the term.",
                "Group paper not recorded yet; the term has ended.",
            ),
            id="after-term",
        ),
    ],
)
def test_project_risk_window(now: datetime, expected: tuple[str, ...]) -> None:
    course = make_course(1, 0.8)
    s = evaluate(ledger(course, "O"), course, now=now)
    assert s.risk_reasons == expected
    assert s.at_risk is bool(expected)


def test_no_misses_left_is_at_risk() -> None:
    course = make_course(9)
    s = evaluate(ledger(course, "OOOOOO-"), course, now=after_due(course, 7))
    assert s.risk_reasons == ("No misses left: all 2 remaining must be on time.",)
    assert s.severity == 2


def test_severity_is_the_worst_reason() -> None:
    course = make_course(9)
    s = evaluate(ledger(course, "FL-------"), course, now=after_due(course, 3))
    assert s.severity == 3
    assert s.risk_reasons[0] == "Assignments out of reach: 8 on time needed, at most 6 possible."
    assert "1 fail: one more means exclusion." in s.risk_reasons


def test_due_exactly_now_counts_as_due() -> None:
    course = make_course(2)
    s = evaluate(ledger(course, "--"), course, now=course.assignments[0].due)
    assert [i.status for i in s.rule("assignments").items] == ["missed", "open"]
