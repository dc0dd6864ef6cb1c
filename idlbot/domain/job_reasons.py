"""Why a Slurm job is pending, told as what it means and what the student can do next. Pure.

Slurm says it in a reason code (squeue's Reason, `(Priority)`, `(ReqNodeNotAvail, Reserved for
maintenance)`; scontrol writes the same with underscores). The code names the cause, the text
after the first comma is detail. Students read the codes as noise, and the fix is rarely in the
code's name: a held job is freed with `scontrol release`, a job waiting on a failed dependency
never starts. So each code, or each family of them, gets a sentence and a next step here.

The limit codes (QOS*, Assoc*: about eighty of them, and Slurm adds more) are grouped by what
their names say: who is limited (you, your account, everyone in the QOS), which resource, and
whether waiting helps (a limit on what runs at once) or not (a job larger than a job may be, a
budget used up). An unknown code is quoted back, defused, with a way to find out more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from idlbot.domain.defuse import defuse
from idlbot.domain.timefmt import format_clock

CHANNEL = "the cluster channel"


@dataclass(frozen=True)
class PendingReason:
    """Slurm's reason: the code ("ReqNodeNotAvail") and the detail after it, if any."""

    code: str
    detail: str = ""


def parse_reason(text: str) -> PendingReason:
    """`(ReqNodeNotAvail, UnavailableNodes:gpu[01-02])`, `Priority`, or scontrol's
    `ReqNodeNotAvail,_Reserved_for_maintenance` -> PendingReason(code, detail)."""
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    code, _, detail = text.partition(",")
    if detail.startswith("_"):  # scontrol -o writes spaces as underscores
        detail = detail.replace("_", " ")
    return PendingReason(code.strip(), detail.strip())


@dataclass(frozen=True)
class MaintWindow:
    """A maintenance window as far as a pending job cares: which one, and when it is over."""

    name: str
    start: datetime
    end: datetime
    reason: str = ""


@dataclass(frozen=True)
class WhyFacts:
    """What `explain` may mention besides the reason. `job` is the id to type in commands
    (an array's own id); `begin` the earliest start asked for (`--begin`)."""

    job: str
    reason: PendingReason
    now: datetime
    tz: ZoneInfo
    dependency: str = ""
    begin: datetime | None = None
    time_limit: timedelta | None = None
    windows: Sequence[MaintWindow] = ()
    reservation: str = ""


@dataclass(frozen=True)
class Explanation:
    what: str
    next_step: str


def holding_window(
    windows: Sequence[MaintWindow], now: datetime, limit: timedelta | None
) -> MaintWindow | None:
    """The window a job of time limit `limit` submitted now runs into: the first one not over
    whose start comes before the job could end (no limit: any). Else the next one not over,
    since Slurm said maintenance and our list may lag a moment behind its reservations."""
    open_ = sorted((w for w in windows if w.end > now), key=lambda w: w.start)
    for w in open_:
        if limit is None or w.start < now + limit:
            return w
    return open_[0] if open_ else None


def _window(f: WhyFacts) -> Explanation:
    w = holding_window(f.windows, f.now, f.time_limit)
    if w is None:
        return Explanation(
            "The nodes are reserved for maintenance, and your job's time limit reaches into that window.",
            f"Wait until the maintenance is over (see `/idl maintenance list` or {CHANNEL}), or lower the "
            f"time limit so it ends before the window: `scontrol update JobId={f.job} TimeLimit=<h:mm:ss>`.",
        )
    why = f" ({defuse(w.reason)})" if w.reason else ""
    name = f"maintenance window “{defuse(w.name)}”{why}"
    ends = format_clock(w.end, f.tz)
    if w.start <= f.now:
        return Explanation(
            f"The cluster is in the {name}, which ends {ends}.",
            "Nothing to do: Slurm starts your job after the window, unless its nodes stay down.",
        )
    return Explanation(
        f"Your job's time limit reaches into the {name}, from {format_clock(w.start, f.tz)} until {ends}; "
        "Slurm does not start jobs that would still run when it begins.",
        f"Wait: it can start after the window ends {ends}. Or lower its time limit so it ends before the "
        f"window: `scontrol update JobId={f.job} TimeLimit=<h:mm:ss>`.",
    )


def _req_node(f: WhyFacts) -> Explanation:
    detail = f.reason.detail
    if "maint" in detail.lower() or "reserv" in detail.lower():
        return _window(f)
    nodes = detail.removeprefix("UnavailableNodes:")
    which = f" ({defuse(nodes)})" if nodes else ""
    return Explanation(
        f"Nodes your job could run on are down, drained or reserved{which}.",
        "If you asked for particular nodes (`--nodelist`, `-w`), ask without; otherwise wait. If it lasts, "
        f"ask in {CHANNEL}.",
    )


def _reservation(f: WhyFacts) -> Explanation:
    if holding_window(f.windows, f.now, f.time_limit) is not None and not f.reservation:
        return _window(f)
    name = f" “{defuse(f.reservation)}”" if f.reservation else ""
    return Explanation(
        f"Your job asked for the reservation{name} (`--reservation`), which has not started yet or is full.",
        f"Wait for it, or run outside it: `scontrol update JobId={f.job} Reservation=`.",
    )


def _dependency(f: WhyFacts) -> Explanation:
    on = f" ({defuse(f.dependency)})" if f.dependency else ""
    return Explanation(
        f"It waits for the jobs it depends on (`--dependency`){on}.",
        "Nothing to do: it becomes eligible once they end as required. `squeue -u $USER` shows them.",
    )


def _never(f: WhyFacts) -> Explanation:
    on = f" ({defuse(f.dependency)})" if f.dependency else ""
    return Explanation(
        f"A job it depends on ended in a way that can never satisfy the dependency{on}, for example "
        "`afterok` on a job that failed. It will never start.",
        f"Cancel it with `scancel {f.job}` and submit again, or drop the dependency: "
        f"`scontrol update JobId={f.job} Dependency=`.",
    )


def _begin(f: WhyFacts) -> Explanation:
    at = f" ({format_clock(f.begin, f.tz)})" if f.begin is not None else ""
    return Explanation(
        f"You asked it not to start before a given time (`--begin`){at}.",
        f"Wait, or let it start now: `scontrol update JobId={f.job} StartTime=now`.",
    )


def _fixed(what: str, next_step: str) -> Callable[[WhyFacts], Explanation]:
    def make(f: WhyFacts) -> Explanation:
        return Explanation(what, next_step.format(job=f.job, channel=CHANNEL))

    return make


_LOWER_TIME = (
    "Lower its time limit: `scontrol update JobId={job} TimeLimit=<h:mm:ss>` "
    "(or submit again with a shorter `--time`)."
)
_CATALOGUE: dict[str, Callable[[WhyFacts], Explanation]] = {
    "Priority": _fixed(
        "Other jobs are ahead of yours in the queue; Slurm starts jobs in priority order.",
        "Nothing to do: it starts when its turn comes. A shorter `--time` or fewer GPUs can let it start "
        "earlier in a gap (backfill).",
    ),
    "Resources": _fixed(
        "Your job is next, but the free CPUs, GPUs or memory are not enough for it yet.",
        "Nothing to do: it starts as soon as running jobs free what it asked for. Asking for less "
        "(GPUs, `--mem`, `--time`) makes that sooner.",
    ),
    "None": _fixed(
        "The scheduler has not looked at it yet (it was submitted a moment ago).",
        "Ask again in a few seconds.",
    ),
    "ReqNodeNotAvail": _req_node,
    "Reservation": _reservation,
    "Dependency": _dependency,
    "DependencyNeverSatisfied": _never,
    "JobHeldUser": _fixed(
        "It is on hold, held by you (`scontrol hold`, or submitted with `--hold`).",
        "Release it: `scontrol release {job}`.",
    ),
    "JobHeldAdmin": _fixed(
        "The course staff (a Slurm administrator) put it on hold; you cannot release it yourself.",
        "Ask the staff in {channel} why, and to release it.",
    ),
    "BeginTime": _begin,
    "PartitionTimeLimit": _fixed(
        'Its time limit is longer than the partition allows (`sinfo -o "%P %l"` shows the maximum); '
        "it will never start as it is.",
        _LOWER_TIME,
    ),
    "JobArrayTaskLimit": _fixed(
        "The array already runs as many tasks at once as you allowed it (the `%` in `--array=0-99%4`).",
        "Nothing to do: the next task starts when one ends. "
        "`scontrol update JobId={job} ArrayTaskThrottle=<n>` "
        "changes the limit.",
    ),
    "PartitionNodeLimit": _fixed(
        "It asks for more nodes than the partition allows; it will never start as it is.",
        "Cancel it (`scancel {job}`) and submit again with fewer nodes.",
    ),
    "PartitionDown": _fixed(
        "Its partition is down: nothing starts there now.", "Wait, and watch {channel} for news."
    ),
    "PartitionInactive": _fixed(
        "Its partition is inactive: nothing starts there now.", "Wait, and watch {channel} for news."
    ),
    "NodeDown": _fixed("A node it needs is down.", "Wait; if it lasts, ask in {channel}."),
    "BadConstraints": _fixed(
        "No node can ever meet what it asked for (constraints, GPUs, memory); it will never start.",
        "Cancel it (`scancel {job}`) and submit again asking for what the nodes have "
        '(`sinfo -o "%N %G %m"`).',
    ),
    "InvalidAccount": _fixed(
        "Its account is not valid (anymore).", "Cancel it (`scancel {job}`) and ask the staff in {channel}."
    ),
    "InvalidQOS": _fixed(
        "Its QOS is not valid for you.",
        "Cancel it (`scancel {job}`) and submit again without `--qos`, or ask the staff.",
    ),
    "Licenses": _fixed(
        "The licenses it asked for (`--licenses`) are all in use.",
        "Nothing to do: it starts when one is free.",
    ),
    "launch failed requeued held": _fixed(
        "Slurm could not start it on a node and held it so it does not fail again.",
        "Release it to try again: `scontrol release {job}`; if it happens again, ask in {channel}.",
    ),
    "JobHoldMaxRequeue": _fixed(
        "It was requeued too many times and Slurm held it.", "Ask the staff in {channel}."
    ),
}


_RESOURCES = (
    ("GRES", "GPUs"), ("Billing", "billing units"), ("Cpu", "CPUs"), ("CPU", "CPUs"), ("Mem", "memory"),
    ("Node", "nodes"), ("Energy", "energy"), ("TRES", "resources"),
)  # fmt: skip


def _limit(code: str, job: str) -> Explanation | None:
    """QOS* and Assoc* limits, grouped by what their names say; None for other codes."""
    if not re.fullmatch(r"(QOS|Assoc)[A-Za-z]*", code):
        return None
    if "PerAccount" in code or code.startswith("AssocGrp"):
        who = "your account (your group on the cluster)"
    elif code.startswith("QOSGrp"):
        who = "everyone sharing your QOS"
    else:
        who = "you"
    what = next((name for key, name in _RESOURCES if key in code), "resources")
    if "WallDuration" in code:
        return Explanation(
            "Its time limit is longer than your QOS or account allows; it will never start as it is.",
            _LOWER_TIME.format(job=job),
        )
    if "Minutes" in code and "RunMin" not in code:
        return Explanation(
            f"The compute budget ({what}-minutes) of {who} is used up.",
            f"Ask the staff in {CHANNEL}; jobs wait until the budget is raised or reset.",
        )
    if "PerJob" in code or "PerNode" in code or re.search(r"Min(TRES|GRES|Cpu|Node|Mem)", code):
        return Explanation(
            f"It asks for more (or fewer) {what} than a single job may have; it will never start as it is.",
            f"Cancel it (`scancel {job}`) and submit again within the limit "
            "(`sacctmgr show qos` shows them).",
        )
    if "Jobs" in code or "Submit" in code:
        return Explanation(
            f"{who.capitalize()} already run as many jobs at once as allowed.",
            "Nothing to do: it starts when one of those jobs ends; "
            "`scancel` one you no longer need to make room.",
        )
    return Explanation(
        f"The jobs running for {who} already use all the {what} allowed at once.",
        "Nothing to do: it starts when some of them end; `scancel` one you no longer need to make room.",
    )


def explain(facts: WhyFacts) -> Explanation:
    """The plain explanation and next step for `facts.reason`; unknown codes get an honest
    fallback that quotes the code, defused."""
    make = _CATALOGUE.get(facts.reason.code)
    if make is not None:
        return make(facts)
    limit = _limit(facts.reason.code, facts.job)
    if limit is not None:
        return limit
    said = facts.reason.code + (f", {facts.reason.detail}" if facts.reason.detail else "")
    return Explanation(
        f"Slurm gives the reason “{defuse(said)}”, which I cannot explain.",
        f"`man squeue` lists the reason codes (JOB REASON CODES); or ask in {CHANNEL}.",
    )
