"""domain/qualification_render.kept_status: a kept status is exactly the one rendered anew.

A standing's text moves with the minute it is "As of" and with the open assignments'
relative times; the kept text is compared with `render_status` at many instants around
those, in zones with odd offsets and across the night clocks go back."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from idlbot.domain.ledger import HandIn
from idlbot.domain.person import about
from idlbot.domain.qualification import evaluate
from idlbot.domain.qualification_render import kept_status, render_status, status_steady_until
from tests.unit.course_2018 import BERLIN
from tests.unit.test_qualification_render import COURSE, LEDGER, NOW, TEAM
from tests.unit.test_qualification_support import after_due

STANDING = evaluate(LEDGER, COURSE, now=NOW, team_reports=TEAM)
OPEN_DUES = [i.due for r in STANDING.rules for i in r.items if i.status == "open" and i.due is not None]
ZONES = [BERLIN, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kathmandu"), ZoneInfo("Australia/Lord_Howe")]
US = timedelta(microseconds=1)


def kept(at: datetime, tz: ZoneInfo = BERLIN) -> str:
    return kept_status(STANDING, "Alice", tz=tz, now=at)


def fresh(at: datetime, tz: ZoneInfo = BERLIN) -> str:
    return render_status(STANDING, "Alice", tz=tz, now=at)


def test_the_status_has_open_assignments_to_count_down_to() -> None:
    assert len(OPEN_DUES) == 2


def test_kept_within_the_minute_and_anew_after_it() -> None:
    start = NOW.replace(second=10)
    first = kept(start)
    assert kept(start.replace(second=59, microsecond=999_999)) is first
    later = start.replace(second=0) + timedelta(minutes=1)
    assert kept(later) == fresh(later) != first
    assert status_steady_until(STANDING, BERLIN, start) == later


def test_without_open_assignments_the_minute_alone_moves_it() -> None:
    end = after_due(COURSE, 9) + timedelta(days=1, seconds=10)
    closed = evaluate(LEDGER, COURSE, now=end, team_reports=TEAM)
    assert not [i for r in closed.rules for i in r.items if i.status == "open"]
    minute = end.replace(second=0) + timedelta(minutes=1)
    assert status_steady_until(closed, BERLIN, end) == minute
    first = kept_status(closed, "Alice", tz=BERLIN, now=end)
    assert kept_status(closed, "Alice", tz=BERLIN, now=minute - US) is first
    assert kept_status(closed, "Alice", tz=BERLIN, now=minute) == render_status(
        closed, "Alice", tz=BERLIN, now=minute
    )


def test_another_standing_or_reader_is_never_served_a_kept_text() -> None:
    moved = LEDGER.__class__(
        LEDGER.student,
        hand_ins=(*LEDGER.hand_ins, HandIn("a08", "on-time", NOW, by="alice")),
        presentations=LEDGER.presentations,
        posts=LEDGER.posts,
    )
    other = evaluate(moved, COURSE, now=NOW, team_reports=TEAM)
    assert kept_status(STANDING, "Alice", tz=BERLIN, now=NOW) != kept_status(
        other, "Alice", tz=BERLIN, now=NOW
    )
    staff = about("alice")
    third = evaluate(LEDGER, COURSE, now=NOW, team_reports=TEAM, person=staff)
    assert kept_status(third, "@alice", tz=BERLIN, now=NOW, person=staff) == render_status(
        third, "@alice", tz=BERLIN, now=NOW, person=staff
    )


@settings(max_examples=300, deadline=None)
@given(
    due=st.sampled_from(OPEN_DUES),
    before=st.one_of(
        st.integers(-86_400_000_000, 8 * 86_400_000_000).map(lambda us: timedelta(microseconds=us)),
        st.integers(-1440, 11_520).map(lambda m: timedelta(minutes=m)),  # on whole minutes
    ),
    later=st.lists(st.integers(-120_000_000, 7_200_000_000), min_size=1, max_size=6),
    tz=st.sampled_from(ZONES),
)
def test_every_kept_status_is_the_one_rendered_anew(
    due: datetime, before: timedelta, later: list[int], tz: ZoneInfo
) -> None:
    now = due - before
    for at in [now, *(now + timedelta(microseconds=step) for step in later)]:
        assert kept(at, tz) == fresh(at, tz)
    until = status_steady_until(STANDING, tz, now)
    assert until >= now
    if until > now:
        assert fresh(until - US, tz) == fresh(now, tz)
