"""The "presented the team's progress at least once" rule on fixed dates of the 2018
term (classes on Wednesdays 13:15, the last on 2019-02-06): met once presented; pending
with the classes left counted; at risk when more team-mates wait than classes remain;
failed when no class is left; absent from the status when the course has no such rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from idlbot.domain.ledger import Student, StudentLedger
from idlbot.domain.person import about
from idlbot.domain.presenters import classes_left, presenting_classes
from idlbot.domain.qualification import Standing, evaluate, rule_names
from idlbot.domain.qualification_render import render_status
from idlbot.domain.schedule import class_meetings
from tests.unit.course_2018 import BERLIN, berlin, course_2018

# no assignments: the forecast's assignment part stays "none can be missed" at any date
COURSE = replace(course_2018(), assignments=(), rules=replace(course_2018().rules, presenting=True))
ALICE = Student("alice", team_id="lyrics-a")


def _standing(ledger: StudentLedger, y: int, m: int, d: int, hh: int = 9) -> Standing:
    return evaluate(ledger, COURSE, now=berlin(y, m, d, hh))


def test_the_last_class_of_the_term() -> None:
    assert class_meetings(COURSE)[-1].day == date(2019, 2, 6)


def test_met_once_presented() -> None:
    s = _standing(StudentLedger(ALICE, progress_presented=(date(2018, 10, 17),)), 2018, 10, 22)
    rule = s.rule("presenting")
    assert rule.verdict == "met"
    assert rule.summary == "presented the team's progress in class (Wed 17 Oct 2018)"
    assert "present the team's progress" not in s.forecast and not s.at_risk


def test_pending_counts_the_classes_left() -> None:
    s = _standing(StudentLedger(ALICE, team_waiting=2), 2019, 1, 21)  # left: Jan 23, 30, Feb 6
    rule = s.rule("presenting")
    assert (rule.verdict, rule.summary) == (
        "pending",
        "not yet; present the team's progress in one of the 3 remaining classes",
    )
    assert s.forecast.endswith(
        "You must still present the team's progress in one of the 3 remaining classes."
    )
    assert not any("presented" in r for r in s.risk_reasons)


def test_at_risk_when_more_team_mates_wait_than_classes_are_left() -> None:
    s = _standing(StudentLedger(ALICE, team_waiting=3), 2019, 1, 31)  # left: Feb 6 only
    rule = s.rule("presenting")
    assert rule.verdict == "pending"
    note = "3 team members have not presented and only one class is left"
    assert rule.summary.endswith(f"(at risk: {note})")
    assert s.forecast.endswith(f"in one of the one remaining class. At risk: {note}.")
    assert s.at_risk and f"Not presented yet: {note}." in s.risk_reasons and s.severity >= 2


def test_the_class_that_started_does_not_count_as_left() -> None:
    s = _standing(StudentLedger(ALICE, team_waiting=1), 2019, 2, 6, 14)  # the last class is on
    assert s.rule("presenting").verdict == "failed"


def test_failed_when_no_class_is_left() -> None:
    s = _standing(StudentLedger(ALICE, team_waiting=1), 2019, 2, 7)
    rule = s.rule("presenting")
    assert rule.verdict == "failed" and s.qualified == "no" and s.severity == 3
    assert "no class is left for you to present the team's progress" in s.forecast
    staff = evaluate(
        StudentLedger(ALICE, team_waiting=1), COURSE, now=berlin(2019, 2, 7), person=about("alice")
    )
    assert "no class is left for alice to present" in staff.forecast


def test_no_team_is_pending_and_says_why() -> None:
    s = _standing(StudentLedger(Student("zoe")), 2018, 11, 5)
    assert s.rule("presenting").summary.startswith("not on a project team yet, so you cannot present")


def test_the_rule_shows_in_the_status_only_when_configured() -> None:
    now = berlin(2018, 10, 22, 9)
    text = render_status(evaluate(StudentLedger(ALICE), COURSE, now=now), "you", tz=BERLIN, now=now)
    assert "**Presenting the team's progress:** not yet; present the team's progress in one of the" in text
    plain = course_2018()
    assert "presenting" not in rule_names(plain) and rule_names(COURSE)[-1] == "presenting"
    text = render_status(evaluate(StudentLedger(ALICE), plain, now=now), "you", tz=BERLIN, now=now)
    assert "Presenting" not in text


def test_the_overview_and_the_export_count_the_rule() -> None:
    from idlbot.domain.overview import build_overview, csv_header, ledger_csv

    ledgers = [
        StudentLedger(ALICE, progress_presented=(date(2018, 10, 17),)),
        StudentLedger(Student("bob", team_id="lyrics-a"), team_waiting=1),
    ]
    ov = build_overview(ledgers, COURSE, now=berlin(2018, 10, 22, 9))
    presenting = next(r for r in ov.rules if r.name == "presenting")
    assert (presenting.met, presenting.pending, presenting.failed) == (1, 1, 0)
    assert csv_header(COURSE)[-4] == "rule_presenting" and "rule_presenting" not in csv_header(course_2018())
    assert ledger_csv(ledgers, COURSE, now=berlin(2018, 10, 22, 9)).splitlines()[1].split(",")[-4] == "met"


def test_classes_before_the_first_presentation_class_are_no_chance_and_not_listed() -> None:
    later = replace(COURSE, rules=replace(COURSE.rules, presenting_from=date(2018, 10, 24)))
    early = berlin(2018, 10, 1)
    assert classes_left(later, early) == classes_left(COURSE, early) - 2  # 10 and 17 Oct
    assert presenting_classes(later)[0].day == date(2018, 10, 24)
