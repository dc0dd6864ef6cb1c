"""Slurm job records, reservations and node states as pure values (`job_render` says them).
(Over 300 lines: the job, reservation and node values and their outcome rules belong together.)

The outcome of a job is decided from its *state* alone. Slurm's sources disagree on exit codes
(for a TIMEOUT job jobcomp and the epilog say 0:0, scontrol and squeue 0:15, sacct either; a
running job that was cancelled shows 0:0 or 15), so the exit code is only shown as detail.

A job is identified by (cluster, job id, submit time): job ids restart at 1 when a cluster's
state is wiped, so the id alone would merge two different jobs in the bot's store.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from idlbot.domain.errors import Unavailable


class ClusterError(Unavailable):
    """A Slurm command failed or timed out; the message is safe to log, not meant for students."""


NoticeKind = Literal["job", "array"]  # one DM for a plain job, one for a whole array
NoticeSource = Literal["mail", "poll"]  # which path saw the end first: MailProg's event or the poll


class JobKey(NamedTuple):
    """Which job a record, a notice or an outbox DM is about; an array uses its array job
    id. The submit time is part of it because ids restart when a cluster's state is wiped."""

    cluster: str
    job_id: int
    submit: datetime


class Outcome(enum.Enum):
    """How a job ended (or ACTIVE while it has not). Values are what the DM text says."""

    OK = "completed"
    FAILED = "failed"
    CANCELLED = "was cancelled"
    TIMEOUT = "hit its time limit"
    OUT_OF_MEMORY = "ran out of memory"
    NODE_FAIL = "was stopped by a node failure"
    BOOT_FAIL = "could not boot its node"
    PREEMPTED = "was preempted"
    DEADLINE = "missed its deadline"
    ACTIVE = "is not finished"
    UNKNOWN = "ended in an unknown state"


_OUTCOMES: Mapping[str, Outcome] = {
    "COMPLETED": Outcome.OK,
    "FAILED": Outcome.FAILED,
    "SPECIAL_EXIT": Outcome.FAILED,
    "CANCELLED": Outcome.CANCELLED,
    "REVOKED": Outcome.CANCELLED,  # federation: the sibling ran elsewhere
    "TIMEOUT": Outcome.TIMEOUT,
    "OUT_OF_MEMORY": Outcome.OUT_OF_MEMORY,
    "NODE_FAIL": Outcome.NODE_FAIL,
    "BOOT_FAIL": Outcome.BOOT_FAIL,
    "PREEMPTED": Outcome.PREEMPTED,
    "DEADLINE": Outcome.DEADLINE,
}
ACTIVE_STATES = frozenset(
    {
        "PENDING", "RUNNING", "SUSPENDED", "COMPLETING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD",
        "REQUEUE_FED", "RESIZING", "RESV_DEL_HOLD", "SIGNALING", "STAGE_OUT", "STOPPED",
    }
)  # fmt: skip
# sacct -s codes of every terminal state, for the reconciliation poll.
TERMINAL_STATE_CODES = "CD,F,CA,TO,OOM,NF,PR,BF,DL"
# When an array's tasks ended differently, the summary's outcome is the first of these present:
# a broken node or memory says more about what to fix than a plain failure, and cancelling is
# usually the student's own doing.
_SEVERITY = (
    Outcome.NODE_FAIL, Outcome.BOOT_FAIL, Outcome.OUT_OF_MEMORY, Outcome.TIMEOUT, Outcome.FAILED,
    Outcome.PREEMPTED, Outcome.DEADLINE, Outcome.UNKNOWN, Outcome.CANCELLED, Outcome.OK,
)  # fmt: skip


def outcome(state: str) -> Outcome:
    """Outcome of a Slurm state word ("COMPLETED", "CANCELLED by 1001", "CANCELLED+", ...)."""
    word = state.split(" ", 1)[0].rstrip("+").upper()
    if word in ACTIVE_STATES:
        return Outcome.ACTIVE
    return _OUTCOMES.get(word, Outcome.UNKNOWN)


@dataclass(frozen=True)
class ExitCode:
    """Slurm's "status:signal" pair. Detail only: see the module docstring."""

    status: int = 0
    signal: int = 0

    @classmethod
    def parse(cls, text: str) -> ExitCode:
        """ "3:0" -> ExitCode(3, 0); anything unparsable -> 0:0 (it is never decisive)."""
        status, _, signal = text.strip().partition(":")
        try:
            return cls(int(status or 0), int(signal or 0))
        except ValueError:
            return cls()

    def __str__(self) -> str:
        return f"{self.status}:{self.signal}"


@dataclass(frozen=True)
class JobRecord:
    """One job (or one array task) as sacct or squeue reported it.

    `job_id` is Slurm's raw id (JobIDRaw: array tasks have their own); `array_job_id` and
    `array_task_id` are set for array tasks. A pending array remainder ("10_[1-4%1]") has
    `array_task_id` None and its range in `array_tasks`. `time_limit` None means UNLIMITED.
    """

    cluster: str
    job_id: int
    submit: datetime
    user: str
    name: str
    # The first word: COMPLETED, CANCELLED, PENDING, ... A str, not a Literal: Slurm adds
    # states between releases (REVOKED, RESV_DEL_HOLD), and `outcome()` maps an unknown one.
    state: str
    exit_code: ExitCode = ExitCode()
    elapsed: timedelta = timedelta(0)
    gpus: int = 0
    nodes: str = ""
    time_limit: timedelta | None = None
    start: datetime | None = None
    end: datetime | None = None
    array_job_id: int | None = None
    array_task_id: int | None = None
    array_tasks: str | None = None
    uid: int | None = None
    partition: str = ""
    reason: str = ""  # why pending (squeue), e.g. "ReqNodeNotAvail, Reserved for maintenance"
    state_detail: str = ""  # the rest of sacct's State, e.g. "by 1001"
    dependency: str = ""  # squeue only: "afterok:11(failed)"
    reservation: str = ""  # squeue only: the reservation the job asked for
    eligible: datetime | None = None  # squeue only: when it may start (`--begin`), if known

    @property
    def key(self) -> JobKey:
        """The store's key: ids restart when a cluster's state is wiped, submit times do not."""
        return JobKey(self.cluster, self.job_id, self.submit)

    @property
    def outcome(self) -> Outcome:
        return outcome(self.state)

    @property
    def finished(self) -> bool:
        return self.outcome is not Outcome.ACTIVE

    @property
    def task_ids(self) -> list[int]:
        """The array task ids this record stands for: one, or a pending remainder's range."""
        if self.array_task_id is not None:
            return [self.array_task_id]
        return expand_task_range(self.array_tasks) if self.array_tasks else []

    @property
    def display_id(self) -> str:
        """The id people see in squeue: "6_2" for an array task, "6" otherwise."""
        if self.array_job_id is not None and self.array_task_id is not None:
            return f"{self.array_job_id}_{self.array_task_id}"
        if self.array_job_id is not None and self.array_tasks:
            return f"{self.array_job_id}_[{self.array_tasks}]"
        return str(self.job_id)


def expand_task_range(text: str) -> list[int]:
    """Slurm's task list "1-4%1", "0,3,5-9:2" -> [1, 2, 3, 4], [0, 3, 5, 7, 9]; junk -> []."""
    ids: list[int] = []
    for part in text.partition("%")[0].split(","):
        span, _, step_text = part.partition(":")
        first, _, last = span.partition("-")
        try:
            start, stop, step = int(first), int(last or first), int(step_text or 1)
        except ValueError:
            return []
        ids.extend(range(start, stop + 1, max(step, 1)))
    return ids


@dataclass(frozen=True)
class ArraySummary:
    """All tasks of one array job, told as one message instead of one DM per task."""

    cluster: str
    array_job_id: int
    submit: datetime
    user: str
    name: str
    tasks: tuple[JobRecord, ...]
    counts: Mapping[str, int] = field(default_factory=dict)  # state -> number of tasks

    @property
    def key(self) -> JobKey:
        return JobKey(self.cluster, self.array_job_id, self.submit)

    @property
    def outcome(self) -> Outcome:
        """ACTIVE while any task is; OK when all completed; else the most telling task outcome."""
        present = {task.outcome for task in self.tasks}
        if Outcome.ACTIVE in present or not present:
            return Outcome.ACTIVE
        return next(o for o in _SEVERITY if o in present)

    @property
    def task_count(self) -> int:
        return sum(max(len(t.task_ids), 1) for t in self.tasks)

    @property
    def unsuccessful_tasks(self) -> list[int]:
        return sorted(i for t in self.tasks if t.outcome is not Outcome.OK for i in t.task_ids)


def summarize_array(tasks: Iterable[JobRecord]) -> ArraySummary:
    """One summary of an array's tasks (all sharing array job id and submit time)."""
    ordered = tuple(sorted(tasks, key=lambda t: (t.array_task_id is None, t.array_task_id or 0)))
    if not ordered:
        raise ValueError("an array summary needs at least one task")
    first = ordered[0]
    array_id = first.array_job_id if first.array_job_id is not None else first.job_id
    counts: Counter[str] = Counter()
    for task in ordered:  # a pending remainder "10_[1-4]" that was cancelled counts as 4 tasks
        counts[task.state] += max(len(task.task_ids), 1)
    return ArraySummary(
        cluster=first.cluster, array_job_id=array_id, submit=first.submit, user=first.user,
        name=first.name, tasks=ordered, counts=dict(sorted(counts.items())),
    )  # fmt: skip


def group_arrays(records: Iterable[JobRecord]) -> list[JobRecord | ArraySummary]:
    """Plain jobs stay as they are; the tasks of each array become one ArraySummary.

    Order follows the first appearance of each job or array, so callers keep sacct's order.
    """
    groups: dict[JobKey, list[JobRecord]] = {}
    out: list[JobRecord | JobKey] = []
    for record in records:
        if record.array_job_id is None:
            out.append(record)
            continue
        key = JobKey(record.cluster, record.array_job_id, record.submit)
        if key not in groups:
            groups[key] = []
            out.append(key)
        groups[key].append(record)
    return [summarize_array(groups[item]) if isinstance(item, JobKey) else item for item in out]


@dataclass(frozen=True)
class Reservation:
    """A Slurm reservation; maintenance windows are the ones flagged MAINT."""

    name: str
    start: datetime
    end: datetime
    flags: frozenset[str] = frozenset()
    nodes: str = ""
    state: str = ""  # ACTIVE or INACTIVE; Slurm's word, passed through (a str, as for jobs)
    users: str = ""

    @property
    def maintenance(self) -> bool:
        return "MAINT" in self.flags

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class ReservationConflict:
    """Why a maintenance window could not be created: Slurm said "Requested nodes are busy",
    and these running jobs' time limits reach into the window. An error value, not an
    exception, because the caller (an admin command) is expected to show it and decide."""

    name: str
    message: str
    jobs: tuple[JobRecord, ...] = ()


@dataclass(frozen=True)
class NodeInfo:
    """A node's base state ("idle", "mixed", "allocated", "down", ...) and its flags
    ("maint", "drain", "reserved", ...), all lower case."""

    name: str
    state: str  # Slurm's word, lower case: a str, since Slurm adds node states between releases
    flags: frozenset[str] = frozenset()
    reason: str = ""

    @property
    def idle(self) -> bool:
        """No job on it; a node in a maintenance window is still idle if nothing runs there."""
        return self.state == "idle"
