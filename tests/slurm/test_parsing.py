"""Parsers and domain rules on outputs recorded from Slurm 22.05.8 (no cluster needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from idlbot.adapters.slurm.parse import (
    gpus_in_tres,
    parse_duration,
    parse_reservations,
    parse_sacct,
    parse_sinfo_nodes,
)
from idlbot.domain.jobs import Outcome, expand_task_range, outcome

# sacct -X -a -P -n -o SACCT_FIELDS with SLURM_TIME_FORMAT=%s, 22.05.8 on this machine
SACCT = (  # recorded lines, AllocTRES of the last one shortened
    """\
7|6_0|1796155871|root|0|COMPLETED|0:0|0|billing=1,cpu=1,node=1|vm|01:00:00|1796155873|1796155873|gpu|None|arr
10|10_[1-4%1]|1796155884|root|0|CANCELLED by 0|0:0|0|||01:00:00|None|1796155892|gpu|JobArrayTaskLimit|parr
12|12|1796155957|al|1001|CANCELLED by 0|0:0|2|gres/gpu=2|vm|00:05:00|1796155958|1796155960|gpu|None|a|b
garbage line
"""
)
# scontrol -o show reservation (22.05.8, SLURM_TIME_FORMAT=%s)
RESV = (
    "ReservationName=m2 StartTime=1796889600 EndTime=1796893200 Duration=01:00:00 Nodes=vm NodeCnt=1 "
    "CoreCnt=2 Features=(null) PartitionName=(null) Flags=MAINT,SPEC_NODES,ALL_NODES TRES=cpu=2 Users=root "
    "Groups=(null) Accounts=(null) Licenses=(null) State=INACTIVE BurstBuffer=(null) Watts=n/a "
    "MaxStartDelay=(null)"
)


def test_sacct_lines() -> None:
    task, rest, gpu = parse_sacct(SACCT, "idl-gpu")
    assert (task.job_id, task.array_job_id, task.array_task_id, task.display_id) == (7, 6, 0, "6_0")
    assert task.submit == datetime.fromtimestamp(1796155871, UTC) and task.time_limit == timedelta(hours=1)
    assert (rest.array_tasks, rest.task_ids, rest.start, rest.nodes, rest.state) == (
        "1-4%1", [1, 2, 3, 4], None, "", "CANCELLED",
    )  # fmt: skip
    assert (gpu.gpus, gpu.name, gpu.uid, gpu.state_detail) == (2, "a|b", 1001, "by 0")  # "|" in a name


def test_durations_and_tres() -> None:
    assert parse_duration("5:00") == timedelta(minutes=5)
    assert parse_duration("1-02:03:04") == timedelta(days=1, hours=2, minutes=3, seconds=4)
    assert parse_duration("UNLIMITED") is None and parse_duration("Partition_Limit") is None
    assert (
        gpus_in_tres("cpu=1,gres/gpu:a100=2,gres/gpu=2") == 2
        and gpus_in_tres("gres/gpu:a=1,gres/gpu:b=1") == 2
    )
    assert expand_task_range("0,3,5-9:2") == [0, 3, 5, 7, 9]


def test_reservations_and_nodes() -> None:
    (resv,) = parse_reservations(RESV + "\n")
    assert resv.maintenance and resv.state == "INACTIVE" and resv.users == "root"
    assert parse_reservations("No reservations in the system\n") == []
    nodes = parse_sinfo_nodes("vm|mixed$|none\nvm2|idle+drain|kernel update\nvm3|maint|none\n")
    assert [(n.state, sorted(n.flags)) for n in nodes] == [("mixed", ["maint"]), ("idle", ["drain"]),
                                                          ("idle", ["maint"])]  # fmt: skip
    assert nodes[1].reason == "kernel update" and nodes[2].idle


def test_outcome_comes_from_the_state_only() -> None:
    assert outcome("COMPLETED") is Outcome.OK and outcome("CANCELLED by 1001") is Outcome.CANCELLED
    assert outcome("CANCELLED+") is Outcome.CANCELLED and outcome("OUT_OF_MEMORY") is Outcome.OUT_OF_MEMORY
    assert outcome("NODE_FAIL") is Outcome.NODE_FAIL and outcome("PREEMPTED") is Outcome.PREEMPTED
    assert outcome("PENDING") is Outcome.ACTIVE and outcome("WHATEVER") is Outcome.UNKNOWN


# squeue -h -a -t all -O SQUEUE_FORMAT, SLURM_TIME_FORMAT=%s: the same in 22.05.8 and 24.11.5
# (a job name with "|" and "@all", held until --begin; a held pending array)
SQUEUE = (
    "163|163|N/A|1796508263|root|PENDING|10:00|1796511863|1796512463|cpu=1,mem=22899M,node=1,billing=1||"
    "BeginTime|gpu|0:00|(null)|(null)|1796511863|b|x @all|\n"
    "164|164|0-3|1796508263|root|PENDING|1:00:00|N/A|N/A|cpu=1,mem=22899M,node=1,billing=1||JobHeldUser|"
    "gpu|0:00|afterok:11(failed)|maint_x|N/A|arr|\n"
    "177|175|1|1796508272|root|COMPLETED|1:00:00|1796508272|1796508273|cpu=1,mem=22899M,node=1,billing=1|vm|"
    "None|gpu|0:01|(null)|(null)|1796508272|arr|\n"
)


def test_squeue_lines_with_the_pending_details() -> None:
    from idlbot.adapters.slurm.parse import parse_squeue

    begin, array, task = parse_squeue(SQUEUE, "idl-gpu")
    assert (begin.name, begin.reason, begin.time_limit) == ("b|x @all", "BeginTime", timedelta(minutes=10))
    assert begin.eligible == datetime.fromtimestamp(1796511863, UTC) and begin.dependency == ""
    assert (array.display_id, array.task_ids, array.reason) == ("164_[0-3]", [0, 1, 2, 3], "JobHeldUser")
    assert (array.dependency, array.reservation, array.eligible) == ("afterok:11(failed)", "maint_x", None)
    assert (task.display_id, task.finished, task.end) == (
        "175_1",
        True,
        datetime.fromtimestamp(1796508273, UTC),
    )
