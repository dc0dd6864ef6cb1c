"""The course rules that turn GitLab facts and staff changes into ledger records: which
wiki page counts, when a push is on time, how the audit trail words a change, how a
typed username becomes a roster key, and how a roster edit from chat is checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from idlbot.domain.audit import (
    hand_in_state,
    override_state,
    paper_state,
    presentation_state,
    pushed_state,
    roster_state,
)
from idlbot.domain.ledger import classify_wiki_page, gitlab_status
from idlbot.domain.roster import KEEP, RosterEdit, roster_changes
from idlbot.domain.usernames import normalize_username
from tests.qualification.support import course

DUE = datetime(2018, 10, 16, 23, 59, tzinfo=ZoneInfo("Europe/Berlin"))


def test_classify_wiki_page() -> None:
    c = course()
    assert classify_wiki_page("blog/alice/week-1", "alice", c, "blog") == ("blog", None)
    assert classify_wiki_page("Blog/Alice/Week-1", "ALICE", c, "blog") == ("blog", None)
    assert classify_wiki_page("blog/alice/week-1", "tutor1", c, "blog") is None  # not the owner
    assert classify_wiki_page("blog/alice", "alice", c, "blog") is None  # the blog's index page
    assert classify_wiki_page("posts/alice/x", "alice", c, "posts/") == ("blog", None)
    assert classify_wiki_page("teams/lyrics-a/sprint-1", "bob", c, "blog") == ("report", "lyrics-a")
    assert classify_wiki_page("teams/lyrics-a", "bob", c, "blog") is None
    assert classify_wiki_page("home", "bob", c, "blog") is None


def test_on_time_means_received_no_later_than_due() -> None:
    assert gitlab_status(DUE, DUE) == "on-time"  # at the very minute still counts
    assert gitlab_status(DUE - timedelta(days=3), DUE) == "on-time"
    assert gitlab_status(DUE + timedelta(seconds=1), DUE) == "late"
    assert gitlab_status(DUE + timedelta(days=30), None) == "on-time"  # no deadline known


def test_audit_wording() -> None:
    late = DUE + timedelta(minutes=61)
    assert pushed_state(late, DUE) == "late (gitlab, 2018-10-16 23:00 UTC)"
    assert pushed_state(DUE.astimezone(UTC), DUE) == "on-time (gitlab, 2018-10-16 21:59 UTC)"
    assert override_state("excused", "stober") == "excused (override by @stober)"
    assert hand_in_state(("excused", "stober"), late, DUE) == "excused (override by @stober)"
    assert hand_in_state(None, late, DUE) == "late (gitlab, 2018-10-16 23:00 UTC)"
    assert hand_in_state(None, None, DUE) is None
    assert presentation_state("fail", "tutor1") == "fail (by @tutor1)"
    assert [paper_state(v) for v in (True, False, None)] == ["counts", "does not count", None]
    assert roster_state({"group_id": "g2", "cluster": None}) == "cluster=-, group_id=g2"
    assert roster_state({"active": False}) == "active=False"


@pytest.mark.parametrize(
    ("typed", "key"),
    [("alice", "alice"), ("@Alice", "alice"), ("  SStober ", "sstober"), (" @tutor1", "tutor1"), ("", "")],
)
def test_one_username_normalisation(typed: str, key: str) -> None:
    assert normalize_username(typed) == key


def test_roster_edit_is_checked_like_a_file_line() -> None:
    c = course()
    edit = RosterEdit(gitlab="@Alice-K", cluster="Alice7", group_id="G2", team_id="", active=False)
    assert roster_changes(edit, c) == {
        "gitlab": "alice-k",
        "cluster": "alice7",
        "group_id": "g2",
        "team_id": None,
        "active": False,
    }
    assert roster_changes(RosterEdit(), c) == {}
    assert roster_changes(RosterEdit(cluster=None, team_id=KEEP), c) == {"cluster": None}
    with pytest.raises(ValueError, match="unknown exercise group 'g9'"):
        roster_changes(RosterEdit(group_id="g9"), c)
    with pytest.raises(ValueError, match="unknown team 'nope'"):
        roster_changes(RosterEdit(team_id="nope"), c)
    with pytest.raises(ValueError, match="invalid cluster username"):
        roster_changes(RosterEdit(cluster="no spaces"), c)
