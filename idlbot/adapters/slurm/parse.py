"""Slurm's command-line output → domain values: pure functions, tested on recorded outputs.

The fields the bot reads (`SACCT_FIELDS`, `SQUEUE_FIELDS`) are the same in Slurm 22.05 and
24.11; `--json` differs between them and is not used. Times arrive as epoch seconds
(the adapter runs every tool with SLURM_TIME_FORMAT=%s).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from idlbot.domain.jobs import (
    ExitCode,
    JobRecord,
    NodeInfo,
    Reservation,
)

log = logging.getLogger(__name__)

# JobName last: it is the only free text, and may itself contain the "|" delimiter.
SACCT_FIELDS = (
    "JobIDRaw,JobID,Submit,User,UID,State,ExitCode,ElapsedRaw,AllocTRES,NodeList,Timelimit,"
    "Start,End,Partition,Reason,JobName"
)
_SACCT_COUNT = SACCT_FIELDS.count(",") + 1
SQUEUE_FIELDS = (
    "JobID,ArrayJobID,ArrayTaskID,SubmitTime,UserName,State,TimeLimit,StartTime,EndTime,"
    "tres-alloc,NodeList,Reason,Partition,TimeUsed,Dependency,Reservation,EligibleTime,Name"
)
SQUEUE_FORMAT = ",".join(f"{name}:|" for name in SQUEUE_FIELDS.split(","))  # "|" after each field
_SQUEUE_COUNT = SQUEUE_FIELDS.count(",") + 1
_NONE = frozenset({"", "None", "none", "N/A", "Unknown", "(null)", "None assigned"})  # "no value"
_GPU_TRES = re.compile(r"gres/gpu(?::([^=,]+))?=(\d+)")
_NODE_FLAGS = re.compile(r"[*~#!%$@^\-]+$")  # sinfo's state suffixes
# sinfo -o %T suffix characters -> the flag they stand for
_SUFFIX_FLAGS = {
    "*": "not_responding", "~": "powered_down", "#": "powering_up", "!": "powering_down",
    "%": "powering_down", "$": "maint", "@": "reboot", "^": "reboot_issued", "-": "planned",
}  # fmt: skip


def _epoch(text: str) -> datetime | None:
    text = text.strip()
    if text in _NONE:
        return None
    try:
        return datetime.fromtimestamp(int(text), tz=UTC)
    except ValueError:
        # Someone's SLURM_TIME_FORMAT did not reach the tool: fall back to ISO local = UTC here.
        try:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            return None


def parse_duration(text: str) -> timedelta | None:
    """Slurm durations: "5:00", "01:00:00", "1-00:00:00", "2-3" ... ; None for UNLIMITED etc."""
    text = text.strip()
    days = 0
    if "-" in text:
        head, _, text = text.partition("-")
        if not head.isdigit():
            return None
        days = int(head)
    parts = text.split(":") if text else []
    if not parts or not all(p.isdigit() for p in parts):
        return None
    numbers = [int(p) for p in parts]
    if days and len(numbers) == 1:  # "D-H"
        numbers = [numbers[0], 0, 0]
    elif days and len(numbers) == 2:  # "D-H:M"
        numbers = [*numbers, 0]
    elif len(numbers) == 1:  # "M"
        numbers = [0, numbers[0], 0]
    elif len(numbers) == 2:  # "M:S"
        numbers = [0, *numbers]
    hours, minutes, seconds = numbers[-3:]
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def gpus_in_tres(tres: str) -> int:
    """GPUs in an AllocTRES string: "billing=1,cpu=1,gres/gpu=2,node=1" -> 2.

    A typed request also lists "gres/gpu:a100=2" next to the untyped total; take the total
    when present, else the sum of the typed counts.
    """
    total: int | None = None
    typed = 0
    for kind, count in _GPU_TRES.findall(tres):
        if kind:
            typed += int(count)
        else:
            total = int(count)
    return total if total is not None else typed


def _array(job_id_text: str) -> tuple[int | None, int | None, str | None]:
    """sacct's JobID: "6_2" -> (6, 2, None); "10_[1-4%1]" -> (10, None, "1-4%1"); "7" -> Nones."""
    base, sep, task = job_id_text.partition("_")
    if not sep or not base.isdigit():
        return None, None, None
    if task.isdigit():
        return int(base), int(task), None
    return int(base), None, task.strip("[]")


def _int(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


def parse_sacct(output: str, cluster: str) -> list[JobRecord]:
    """Records from `sacct -X -P -n -o SACCT_FIELDS`; lines that do not parse are logged and skipped."""
    records: list[JobRecord] = []
    for line in output.splitlines():
        if not line.strip():
            continue
        fields = line.split("|", _SACCT_COUNT - 1)
        submit = _epoch(fields[2]) if len(fields) == _SACCT_COUNT else None
        if submit is None or not fields[0].isdigit():
            log.warning("sacct line skipped: %r", line[:200])
            continue
        raw, job_id, _, user, uid, state, exit_code, elapsed, tres, nodes, limit = fields[:11]
        start, end, partition, reason, name = fields[11:]
        array_job, task, tasks = _array(job_id)
        word, _, detail = state.partition(" ")
        records.append(
            JobRecord(
                cluster=cluster,
                job_id=int(raw),
                submit=submit,
                user=user,
                name=name,
                state=word.rstrip("+"),
                exit_code=ExitCode.parse(exit_code),
                elapsed=timedelta(seconds=_int(elapsed) or 0),
                gpus=gpus_in_tres(tres),
                nodes="" if nodes in _NONE else nodes,
                time_limit=parse_duration(limit),
                start=_epoch(start),
                end=_epoch(end),
                array_job_id=array_job,
                array_task_id=task,
                array_tasks=tasks,
                uid=_int(uid),
                partition=partition,
                reason="" if reason in _NONE else reason,
                state_detail=detail,
            )
        )
    return records


def parse_squeue(output: str, cluster: str) -> list[JobRecord]:
    """Records from `squeue -h -O <SQUEUE_FIELDS with "|" suffixes>` (Name last, as in sacct)."""
    records: list[JobRecord] = []
    for line in output.splitlines():
        if not line.strip():
            continue
        fields = line.split("|", _SQUEUE_COUNT - 1)
        if len(fields) != _SQUEUE_COUNT or not fields[0].strip().isdigit():
            log.warning("squeue line skipped: %r", line[:200])
            continue
        fields = [f.strip() for f in fields]
        raw, array_job, task, submit, user, state, limit, start, end, tres = fields[:10]
        nodes, reason, partition, used, dependency, reservation, eligible, name = fields[10:]
        name = name.removesuffix("|")
        is_task = task not in _NONE
        task_id = _int(task) if is_task else None
        records.append(
            JobRecord(
                cluster=cluster,
                job_id=int(raw),
                submit=_epoch(submit) or datetime.fromtimestamp(0, UTC),
                user=user,
                name=name,
                state=state,
                elapsed=parse_duration(used) or timedelta(0),
                gpus=gpus_in_tres(tres),
                nodes="" if nodes in _NONE else nodes,
                time_limit=parse_duration(limit),
                start=_epoch(start) if state != "PENDING" else None,
                end=_epoch(end) if state not in ("PENDING", "RUNNING") else None,
                array_job_id=_int(array_job) if is_task else None,
                array_task_id=task_id,
                array_tasks=task if is_task and task_id is None else None,
                partition=partition,
                reason="" if reason in _NONE else reason,
                dependency="" if dependency in _NONE else dependency,
                reservation="" if reservation in _NONE else reservation,
                eligible=_epoch(eligible),
            )
        )
    return records


def _key_values(line: str) -> dict[str, str]:
    """scontrol -o's "Key=Value Key=Value" line; values may contain spaces (Reason=...), so a
    new pair starts only at " Word=" where Word looks like a key."""
    pairs: dict[str, str] = {}
    for match in re.finditer(
        r"(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=(.*?)(?=\s[A-Za-z][A-Za-z0-9_:/]*=|$)", line
    ):
        pairs[match.group(1)] = match.group(2).strip()
    return pairs


def parse_reservations(output: str) -> list[Reservation]:
    """`scontrol show reservation -o` with SLURM_TIME_FORMAT=%s ("No reservations in the system")."""
    found: list[Reservation] = []
    for line in output.splitlines():
        if not line.startswith("ReservationName="):
            continue
        kv = _key_values(line)
        start, end = _epoch(kv.get("StartTime", "")), _epoch(kv.get("EndTime", ""))
        if start is None or end is None:
            log.warning("reservation line skipped: %r", line[:200])
            continue
        flags = frozenset(f for f in kv.get("Flags", "").split(",") if f and f not in _NONE)
        found.append(
            Reservation(
                name=kv["ReservationName"],
                start=start,
                end=end,
                flags=flags,
                nodes="" if kv.get("Nodes", "") in _NONE else kv["Nodes"],
                state=kv.get("State", ""),
                users="" if kv.get("Users", "") in _NONE else kv["Users"],
            )
        )
    return found


def parse_sinfo_nodes(output: str) -> list[NodeInfo]:
    """`sinfo -h -N -o "%N|%T|%E"`: one line per node and partition ("idle", "mixed$",
    "idle+drain", "maint"); deduplicated by node name."""
    nodes: dict[str, NodeInfo] = {}
    for line in output.splitlines():
        name, sep, rest = line.strip().partition("|")
        if not sep:
            continue
        state_text, _, reason = rest.partition("|")
        suffix = _NODE_FLAGS.search(state_text)
        flags = {_SUFFIX_FLAGS[c] for c in (suffix.group(0) if suffix else "") if c in _SUFFIX_FLAGS}
        base, *more = _NODE_FLAGS.sub("", state_text).lower().split("+")
        flags.update(more)
        if base in {"maint", "reserved", "planned"}:  # sinfo shows these instead of "idle"
            flags.add(base)
            base = "idle"
        if base in {"drained", "draining"}:
            flags.add("drain")
            base = "idle" if base == "drained" else "mixed"
        nodes.setdefault(name, NodeInfo(name, base, frozenset(flags), "" if reason in _NONE else reason))
    return list(nodes.values())
