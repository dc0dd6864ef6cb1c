"""The course routines' posts and DMs, and the cluster's new replies, defuse what they are
given: hostile usernames, group ids, Slurm reason details and job names straight into the
render functions, as tests/unit/test_render_sites.py does for the older posts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings

from idlbot.domain import rota_text
from idlbot.domain.early_warnings import WarningChange, student_warning
from idlbot.domain.job_reasons import MaintWindow, WhyFacts, explain, parse_reason
from idlbot.domain.ledger import Student
from idlbot.domain.presenters_render import proposal_text
from idlbot.domain.qualification import Standing
from idlbot.domain.rota import Pick
from idlbot.domain.settings import Team
from idlbot.domain.warning_digest import digest_text
from tests.unit.test_defuse import hostile
from tests.unit.test_render_sites import assert_inert

T0 = datetime(2018, 10, 16, 12, 0, tzinfo=UTC)
DAY = date(2018, 10, 24)


@settings(max_examples=150, deadline=None)
@given(hostile, hostile)
def test_summary_rota_names(writer: str, other: str) -> None:
    slug = "summaries/2018-10-24"
    for text in (
        rota_text.announcement(DAY, writer, slug, T0),
        rota_text.alert_dm(DAY, writer, slug),
        rota_text.excused_dm(DAY, other),
        rota_text.replaced_dm(DAY, other),
        rota_text.swap_request_dm(DAY, writer),
        rota_text.swap_answer_dm(DAY, other, True),
        rota_text.swap_answer_dm(DAY, other, False),
    ):
        assert_inert(text)
    pick = Pick(day=DAY, writer=writer, how="auto", announced=True)
    assert_inert(rota_text.render([replace(pick, writer=other)], [(pick, other)], "summaries"))


@settings(max_examples=150, deadline=None)
@given(hostile, hostile)
def test_presenter_proposals(presenter: str, waiting: str) -> None:
    team = Team("lyrics-a", "Team A", "teams/lyrics-a")
    assert_inert(proposal_text(team, DAY, presenter, [waiting, presenter]))


@settings(max_examples=150, deadline=None)
@given(hostile, hostile, hostile)
def test_warnings_and_digests(student: str, tutor: str, group: str) -> None:
    for state, previous in (("last-chance", "ok"), ("unreachable", "last-chance"), ("ok", "unreachable")):
        change = WarningChange(
            student=student, student_key="7", group_id=group, seq=1, state=state, previous=previous,
            forecast="You must hand in all of the remaining 3 on time.", at=T0,
        )  # fmt: skip
        text = student_warning(change, tutors=[tutor], instructors=[student, tutor])
        assert text is not None
        assert_inert(text)
    standing = Standing(
        student=Student(student, group_id=group), rules=(), forecast="", qualified="open", at_risk=True,
        risk_reasons=("No misses left.",), severity=2, on_time_count=1, on_time_due=1, due_count=2,
        counted_total=8, excused_count=0, required=7, remaining=6, possible=7, can_miss=0, fails=0,
        excluded=False, blog_count=0, report_count=0,
    )  # fmt: skip
    digest = digest_text([standing], scope="the whole course", day=DAY, always=False)
    assert digest is not None
    assert_inert(digest)


@settings(max_examples=150, deadline=None)
@given(hostile, hostile, hostile)
def test_pending_reasons(detail: str, window: str, dependency: str) -> None:
    maintenance = MaintWindow(window, T0, T0 + timedelta(hours=4), reason=detail)
    for code in ("ReqNodeNotAvail", "Reservation", "Dependency", "DependencyNeverSatisfied", "NoSuchCode"):
        facts = WhyFacts(
            job="4711", reason=parse_reason(f"({code}, {detail})"), now=T0, tz=UTC,
            dependency=dependency, windows=[maintenance], reservation=window,
            time_limit=timedelta(hours=1),
        )  # fmt: skip
        found = explain(facts)
        assert_inert(f"{found.what} {found.next_step}")
