"""Slurm's pending reasons → an explanation and a next step (domain/job_reasons.py), code by code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from idlbot.domain.defuse import defuse
from idlbot.domain.job_reasons import (
    MaintWindow,
    PendingReason,
    WhyFacts,
    explain,
    holding_window,
    parse_reason,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2018, 11, 1, 17, 0, tzinfo=UTC)
MAINT = MaintWindow("maint_20181102_0300", NOW + timedelta(hours=10), NOW + timedelta(hours=18), "power cut")


def facts(text: str, **kw: object) -> WhyFacts:
    base: dict[str, object] = {"job": "4711", "reason": parse_reason(text), "now": NOW, "tz": BERLIN}
    return WhyFacts(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Priority", PendingReason("Priority")),
        ("(Resources)", PendingReason("Resources")),
        (
            "(ReqNodeNotAvail, UnavailableNodes:gpu[01-02])",
            PendingReason("ReqNodeNotAvail", "UnavailableNodes:gpu[01-02]"),
        ),
        (
            "ReqNodeNotAvail, Reserved for maintenance",
            PendingReason("ReqNodeNotAvail", "Reserved for maintenance"),
        ),
        (
            "ReqNodeNotAvail,_Reserved_for_maintenance",
            PendingReason("ReqNodeNotAvail", "Reserved for maintenance"),
        ),
        ("  (Reservation) ", PendingReason("Reservation")),
    ],
)
def test_parse_reason_reads_squeue_and_scontrol_forms(text: str, expected: PendingReason) -> None:
    assert parse_reason(text) == expected


# code → (in the explanation, in the next step)
TABLE = {
    "Priority": ("ahead of yours", "when its turn comes"),
    "Resources": ("free CPUs, GPUs or memory", "Asking for less"),
    "None": ("has not looked at it yet", "Ask again"),
    "Dependency": ("waits for the jobs it depends on", "Nothing to do"),
    "DependencyNeverSatisfied": ("never start", "`scancel 4711`"),
    "JobHeldUser": ("held by you", "`scontrol release 4711`"),
    "JobHeldAdmin": ("course staff", "Ask the staff"),
    "BeginTime": ("not to start before", "`scontrol update JobId=4711 StartTime=now`"),
    "PartitionTimeLimit": ("longer than the partition allows", "TimeLimit=<h:mm:ss>"),
    "JobArrayTaskLimit": ("as many tasks at once", "ArrayTaskThrottle"),
    "PartitionNodeLimit": ("more nodes than the partition allows", "`scancel 4711`"),
    "PartitionDown": ("partition is down", "Wait"),
    "PartitionInactive": ("partition is inactive", "Wait"),
    "NodeDown": ("node it needs is down", "Wait"),
    "BadConstraints": ("will never start", "`scancel 4711`"),
    "InvalidAccount": ("account is not valid", "`scancel 4711`"),
    "InvalidQOS": ("QOS is not valid", "without `--qos`"),
    "Licenses": ("licenses", "when one is free"),
    "launch failed requeued held": ("could not start it", "`scontrol release 4711`"),
    "JobHoldMaxRequeue": ("requeued too many times", "Ask the staff"),
    "ReqNodeNotAvail, UnavailableNodes:gpu[01-02]": (
        "down, drained or reserved (gpu\\[01-02\\])",
        "`--nodelist`",
    ),
    "Reservation": ("has not started yet", "Reservation="),
    # limits, grouped
    "QOSMaxJobsPerUserLimit": ("You already run as many jobs at once", "`scancel`"),
    "AssocMaxJobsLimit": ("You already run as many jobs at once", "when one of those jobs ends"),
    "AssocGrpJobsLimit": ("Your account (your group on the cluster) already run", "when one"),
    "QOSMaxSubmitJobPerUserLimit": ("as many jobs at once", "when one"),
    "QOSMaxGRESPerUser": ("running for you already use all the GPUs", "when some of them end"),
    "AssocGrpGRES": ("running for your account (your group on the cluster) already use all the GPUs", "end"),
    "QOSGrpCpuLimit": ("everyone sharing your QOS already use all the CPUs", "end"),
    "QOSMaxMemoryPerUser": ("all the memory", "end"),
    "AssocGrpCPURunMinutesLimit": ("all the CPUs", "end"),
    "QOSMaxGRESPerJob": ("than a single job may have", "`scancel 4711`"),
    "AssocMaxTRESPerJob": ("than a single job may have", "sacctmgr show qos"),
    "QOSMinGRES": ("than a single job may have", "`scancel 4711`"),
    "AssocGrpCPUMinutesLimit": ("compute budget (CPUs-minutes)", "Ask the staff"),
    "AssocGrpGRESMinutes": ("compute budget (GPUs-minutes) of your account", "Ask the staff"),
    "QOSMaxWallDurationPerJobLimit": ("longer than your QOS or account allows", "TimeLimit=<h:mm:ss>"),
    "AssocMaxWallDurationPerJobLimit": ("longer than your QOS or account allows", "--time"),
}


@pytest.mark.parametrize(("code", "said"), TABLE.items(), ids=list(TABLE))
def test_every_code_has_an_explanation_and_next_step(code: str, said: tuple[str, str]) -> None:
    got = explain(facts(code))
    assert said[0] in got.what and said[1] in got.next_step, got
    assert "cannot explain" not in got.what


def test_maintenance_names_the_window_and_its_end_in_course_time() -> None:
    got = explain(
        facts("ReqNodeNotAvail, Reserved for maintenance", time_limit=timedelta(hours=12), windows=[MAINT])
    )
    assert "“maint\\_20181102\\_0300” (power cut)" in got.what
    assert "until Fri 02 Nov 2018, 12:00 CET" in got.what and "Fri 02 Nov 2018, 04:00 CET" in got.what
    assert "after the window ends Fri 02 Nov 2018, 12:00 CET" in got.next_step
    assert "TimeLimit=" in got.next_step


def test_an_active_window_says_it_is_in_progress() -> None:
    now = MAINT.start + timedelta(hours=1)
    got = explain(facts("ReqNodeNotAvail, Reserved for maintenance", now=now, windows=[MAINT]))
    assert "is in the maintenance window" in got.what and "ends Fri 02 Nov 2018, 12:00 CET" in got.what


def test_reservation_reason_during_maintenance_names_the_window() -> None:
    got = explain(facts("Reservation", time_limit=timedelta(hours=12), windows=[MAINT]))
    assert "maint\\_20181102\\_0300" in got.what


def test_maintenance_without_a_known_window_still_helps() -> None:
    got = explain(facts("ReqNodeNotAvail, Reserved for maintenance"))
    assert "reserved for maintenance" in got.what and "/idl maintenance list" in got.next_step


def test_the_window_held_is_the_first_the_time_limit_reaches() -> None:
    later = MaintWindow("later", NOW + timedelta(days=2), NOW + timedelta(days=3))
    over = MaintWindow("over", NOW - timedelta(days=2), NOW - timedelta(days=1))
    assert holding_window([later, MAINT, over], NOW, timedelta(hours=11)) == MAINT
    assert holding_window([later, MAINT, over], NOW, timedelta(hours=1)) == MAINT  # the next one, at least
    assert holding_window([later, over], NOW, None) == later
    assert holding_window([over], NOW, None) is None


def test_dependency_and_begin_time_quote_what_slurm_says() -> None:
    assert (
        f"({defuse('afterok:11(failed)')})"
        in explain(facts("DependencyNeverSatisfied", dependency="afterok:11(failed)")).what
    )
    begin = explain(facts("BeginTime", begin=NOW + timedelta(hours=1)))
    assert "(Thu 01 Nov 2018, 19:00 CET)" in begin.what


def test_an_unknown_code_is_quoted_defused() -> None:
    got = explain(facts("NewIn25, ping @all see http://x.example/"))
    assert "cannot explain" in got.what and "NewIn25" in got.what
    assert "@all" not in got.what and "http://" not in got.what
    assert "man squeue" in got.next_step


def test_foreign_text_in_details_is_defused() -> None:
    got = explain(facts("ReqNodeNotAvail, UnavailableNodes:@channel"))
    assert "@channel" not in got.what
    held = explain(
        facts(
            "ReqNodeNotAvail, Reserved for maintenance",
            windows=[MaintWindow("@here", NOW, NOW + timedelta(hours=1), "@all")],
        )
    )
    assert "@here" not in held.what and "@all" not in held.what
