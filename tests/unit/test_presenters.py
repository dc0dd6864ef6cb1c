"""The presenter rota's pure rules: whom to propose, which class a date means, which
report belongs to which class, and the texts (usernames and slugs defused)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import given, settings

from idlbot.devtools.sim.mm_mentions import parse_post
from idlbot.domain.presenters import (
    Presented,
    Proposal,
    TeamRecord,
    classes_left,
    counts,
    latest_class,
    propose,
    propose_for,
    report_window,
    tie_break,
    weeks,
)
from idlbot.domain.presenters_render import proposal_text, recorded_text, team_text
from idlbot.domain.schedule import class_meetings
from idlbot.domain.settings import Team
from tests.unit.course_2018 import berlin, course_2018
from tests.unit.test_defuse import hostile

TEAM = Team("lyrics-a", "Team A (sung lyrics)", "teams/lyrics-a")
MEMBERS = ("alice", "bob", "carol", "dave")
DAYS = [m.day for m in class_meetings(course_2018())]


def _simulate(members: tuple[str, ...], days: list[date], presents: bool) -> list[str]:
    """Propose for every class; `presents`: the proposed member presents each time."""
    record = TeamRecord("t", members)
    picks = []
    for day in days:
        pick = propose_for(record, day)
        assert pick is not None
        picks.append(pick)
        record = replace(record, proposals=(*record.proposals, Proposal("t", day, pick)))
        if presents:
            record = replace(
                record,
                presented=(*record.presented, Presented("t", pick, day, "tutor1", berlin(2018, 10, 10))),
            )
    return picks


def test_everybody_is_proposed_once_before_anybody_twice() -> None:
    picks = _simulate(MEMBERS, DAYS, presents=False)
    for start in range(0, len(picks) - 3, 4):
        assert sorted(picks[start : start + 4]) == sorted(MEMBERS), picks
    assert max(counts(picks).values()) - min(counts(picks).values()) <= 1


def test_the_rotation_stays_fair_once_everybody_presented() -> None:
    picks = _simulate(MEMBERS, DAYS, presents=True)
    assert set(picks[:4]) == set(MEMBERS)
    assert max(counts(picks).values()) - min(counts(picks).values()) <= 1


def test_members_who_have_not_presented_come_first_whatever_was_proposed() -> None:
    day = date(2018, 11, 7)
    # bob was proposed three times but never presented; alice presented once, never proposed
    pick = propose(("alice", "bob"), day, presented={"alice": 1}, proposed={"bob": 3})
    assert pick == "bob"
    # among those who have not presented, the one proposed least
    assert propose(("alice", "bob", "carol"), day, {"alice": 1}, {"bob": 2, "carol": 1}) == "carol"


def test_ties_are_broken_by_a_stable_hash_not_by_name() -> None:
    picks = {propose(MEMBERS, day, {}, {}) for day in DAYS}
    assert len(picks) > 1  # not always the alphabetically first
    assert tie_break("alice", DAYS[0]) == tie_break("alice", DAYS[0])
    assert propose(MEMBERS, DAYS[0], {}, {}) == propose(tuple(reversed(MEMBERS)), DAYS[0], {}, {})


def test_a_team_without_active_members_gets_no_proposal() -> None:
    assert propose((), DAYS[0], {}, {}) is None


def test_the_default_class_is_the_latest_on_or_before_today() -> None:
    c = course_2018()
    assert latest_class(c, date(2018, 10, 9)) is None
    found = latest_class(c, date(2018, 10, 22))
    assert found is not None and found.day == date(2018, 10, 17)
    found = latest_class(c, date(2019, 1, 5))  # in the break: the last class before it
    assert found is not None and found.day == date(2018, 12, 19)


def test_classes_left_counts_those_not_started() -> None:
    c = course_2018()
    total = len(class_meetings(c))
    assert classes_left(c, berlin(2018, 10, 1)) == total
    assert classes_left(c, berlin(2018, 10, 10, 13, 15)) == total - 1  # started: gone
    assert classes_left(c, berlin(2019, 3, 1)) == 0


def test_a_report_belongs_to_the_class_it_was_written_for() -> None:
    c = course_2018()
    first = report_window(c, date(2018, 10, 10))
    assert first is not None and first[0] is None
    window = report_window(c, date(2018, 10, 17))
    assert window == (berlin(2018, 10, 10, 14, 45), berlin(2018, 10, 17, 14, 45))
    record = TeamRecord(
        "lyrics-a",
        ("alice", "bob"),
        (Presented("lyrics-a", "alice", date(2018, 10, 17), "tutor1", berlin(2018, 10, 17, 14)),),
        (Proposal("lyrics-a", date(2018, 10, 17), "bob"), Proposal("lyrics-a", date(2018, 10, 24), "bob")),
        (("teams/lyrics-a/week-2", berlin(2018, 10, 16, 20)),),
    )
    shown = weeks(c, record, berlin(2018, 10, 22, 9))
    assert [w.meeting.day for w in shown] == [date(2018, 10, 10), date(2018, 10, 17), date(2018, 10, 24)]
    assert shown[1].reports == ("teams/lyrics-a/week-2",) and shown[0].reports == ()
    assert shown[1].presented == ("alice",) and shown[2].proposed == "bob"
    text = team_text(TEAM, record, shown)
    assert "Not presented yet: @\u200bbob." in text
    assert (
        "- Wed 17 Oct 2018: presented by @\u200balice (proposed @\u200bbob); report: teams/lyrics-a/week-2"
        in text
    )
    assert "- Wed 10 Oct 2018: nobody recorded; no report page" in text
    assert "- Wed 24 Oct 2018: proposed @\u200bbob, nobody recorded; no report page" in text


def test_the_proposal_text_names_the_presenter_and_who_is_left() -> None:
    text = proposal_text(TEAM, date(2018, 10, 17), "bob", ("alice", "bob"))
    assert "proposed to present is @\u200bbob" in text
    assert "Not presented yet: @\u200balice, @\u200bbob" in text
    assert "\n" not in text
    assert "Everybody has presented" in proposal_text(TEAM, date(2018, 10, 17), "bob", ())


def test_recording_twice_says_so() -> None:
    p = Presented("lyrics-a", "alice", date(2018, 10, 17), "tutor1", berlin(2018, 10, 17, 14))
    assert recorded_text(TEAM, p, True).startswith("Recorded: @\u200balice presented")
    assert recorded_text(TEAM, p, False).startswith("Already recorded (by @\u200btutor1), nothing changed")


@settings(max_examples=100, deadline=None)
@given(hostile, hostile)
def test_usernames_and_slugs_are_defused(user: str, slug: str) -> None:
    c = course_2018()
    record = TeamRecord(
        "lyrics-a",
        (user, "bob"),
        (Presented("lyrics-a", user, date(2018, 10, 17), user, berlin(2018, 10, 17, 14)),),
        (Proposal("lyrics-a", date(2018, 10, 24), user),),
        ((slug, berlin(2018, 10, 16, 20)),),
    )
    texts = [
        proposal_text(TEAM, date(2018, 10, 17), user, (user,)),
        team_text(TEAM, record, weeks(c, record, berlin(2018, 10, 22, 9))),
        recorded_text(TEAM, record.presented[0], False),
    ]
    for text in texts:
        assert not parse_post(text, {"@someuser", "@tutors"}).any, text
