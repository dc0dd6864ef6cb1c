"""Announcements and maintenance, pure parts: option parsing, explicit mentions, the state machine."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from idlbot.domain.announce import parse_request, render_announcement
from idlbot.domain.errors import UserError
from idlbot.domain.jobs import NodeInfo, Reservation
from idlbot.domain.maintenance import Decision, cluster_back, decide, new_window, overlapping_jobs

from .conftest import job

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2018, 10, 23, 9, 0, tzinfo=BERLIN)  # Tuesday


def test_options_then_verbatim_text() -> None:
    req = parse_request(
        '--channel ~town-square --at "fri 16:00" --notify all Don\'t forget: it\'s "fun"', now=NOW, tz=BERLIN
    )
    assert req.channel == "town-square" and req.notify == "all" and not req.yes
    assert req.at == datetime(2018, 10, 26, 16, 0, tzinfo=BERLIN)
    assert req.text == "Don't forget: it's \"fun\""


def test_unquoted_at_reads_the_longest_time() -> None:
    req = parse_request("--at 2018-10-25 18:00 --yes Lab closed", now=NOW, tz=BERLIN)
    assert req.at == datetime(2018, 10, 25, 18, 0, tzinfo=BERLIN) and req.yes and req.text == "Lab closed"


@pytest.mark.parametrize(
    "args",
    ["--notify everyone hi", "--colour red hi", "--at yesterday hi", "--yes", "--at 2018-10-01 10:00 hi"],
)
def test_bad_requests_are_user_errors(args: str) -> None:
    with pytest.raises(UserError):
        parse_request(args, now=NOW, tz=BERLIN)


def test_mentions_appear_only_when_asked_for() -> None:
    pasted = "Question from a student: @all @channel @here please help"
    quiet = render_announcement(pasted, "none")
    assert "@all" not in quiet and "@channel" not in quiet and "@here" not in quiet
    loud = render_announcement(pasted, "channel")
    assert loud.startswith("@channel ") and loud.count("@channel") == 1 and "@all" not in loud


START = datetime(2018, 10, 26, 4, 0, tzinfo=BERLIN)
END = datetime(2018, 10, 26, 12, 0, tzinfo=BERLIN)
RES = Reservation("maint_x", START, END, frozenset({"MAINT"}))


def test_state_machine_walks_announce_remind_window_up() -> None:
    w = new_window(RES)
    assert decide(w, RES, NOW) == Decision(announce=True, warn_jobs=True)
    w = replace(w, announced_at=NOW)
    assert decide(w, RES, NOW + timedelta(hours=1)) == Decision(warn_jobs=True)
    day_before = START - timedelta(hours=23)
    assert decide(w, RES, day_before) == Decision(remind=True, warn_jobs=True)
    w2 = replace(w, reminded_at=day_before)
    assert decide(w2, RES, START + timedelta(hours=1)) == Decision()
    assert decide(w2, None, END + timedelta(minutes=1)) == Decision(check_nodes=True)


def test_no_reminder_when_announced_within_the_last_day() -> None:
    late = START - timedelta(hours=5)
    w = replace(new_window(RES), announced_at=late)
    assert not decide(w, RES, late + timedelta(minutes=1)).remind


def test_gone_before_start_is_cancelled_and_window_over_is_not_announced() -> None:
    w = new_window(RES)
    assert decide(w, None, NOW).cancelled
    assert decide(w, RES, END) == Decision(check_nodes=True)


def test_cluster_back_needs_every_node_in_service() -> None:
    assert not cluster_back([])
    assert not cluster_back([NodeInfo("n1", "idle", frozenset({"maint"}))])
    assert not cluster_back([NodeInfo("n1", "down"), NodeInfo("n2", "idle")])
    assert not cluster_back([NodeInfo("n1", "idle", frozenset({"not_responding"}))])
    assert cluster_back([NodeInfo("n1", "idle"), NodeInfo("n2", "mixed")])


def test_overlapping_jobs() -> None:
    jobs = [
        job(1, "alice", "RUNNING", start=NOW, limit=timedelta(days=1)),  # ends before the window
        job(2, "bob", "RUNNING", start=NOW, limit=timedelta(days=3)),
        job(3, "carol", "PENDING", start=None, limit=timedelta(days=3)),
        job(4, "dave", "PENDING", start=None, limit=timedelta(hours=2)),
        job(5, "erin", "RUNNING", start=NOW, limit=None),
    ]
    assert [j.job_id for j in overlapping_jobs(jobs, START, NOW)] == [2, 3, 5]
