"""`/idl jobs` lists an array as one line with counts per state, not a line per task. Pure.

The listing merges two sources: squeue for what is queued or running, sacct for what ended.
One task can be in both for a moment (it ended between the two reads): the ended record wins,
since sacct is read second. A pending remainder ("10_[5-19]") counts once per task it stands for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from idlbot.domain.jobs import JobRecord

# Ended states first (what is done), then what still runs, then what waits; others after these.
_ORDER = (
    "COMPLETED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "CANCELLED", "NODE_FAIL", "BOOT_FAIL", "PREEMPTED",
    "DEADLINE", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "PENDING",
)  # fmt: skip


@dataclass(frozen=True)
class ArrayLine:
    """One array in the listing: its id, name, and how many tasks are in each state."""

    array_job_id: int
    name: str
    counts: tuple[tuple[str, int], ...]  # (state, tasks), in _ORDER

    @property
    def text(self) -> str:
        """ "15 completed, 3 running, 2 pending" (Slurm's state words, lower case)."""
        return ", ".join(f"{n} {state.lower().replace('_', ' ')}" for state, n in self.counts)


def _rank(state: str) -> tuple[int, str]:
    return (_ORDER.index(state), "") if state in _ORDER else (len(_ORDER), state)


def _counts(records: Sequence[JobRecord]) -> tuple[tuple[str, int], ...]:
    by_task: dict[int, JobRecord] = {}
    loose = 0
    tally: dict[str, int] = {}
    for record in records:
        ids = record.task_ids
        if not ids:
            tally[record.state] = tally.get(record.state, 0) + 1
            loose += 1
            continue
        for task in ids:
            seen = by_task.get(task)
            if seen is None or (record.finished and not seen.finished):
                by_task[task] = record
    for record in by_task.values():
        tally[record.state] = tally.get(record.state, 0) + 1
    return tuple(sorted(tally.items(), key=lambda item: _rank(item[0])))


def listing(records: Iterable[JobRecord]) -> list[JobRecord | ArrayLine]:
    """Plain jobs as they come; each array's records as one `ArrayLine`, where it first appears."""
    arrays: dict[tuple[str, int], list[JobRecord]] = {}
    order: list[JobRecord | tuple[str, int]] = []
    for record in records:
        if record.array_job_id is None:
            order.append(record)
            continue
        key = (record.cluster, record.array_job_id)
        if key not in arrays:
            arrays[key] = []
            order.append(key)
        arrays[key].append(record)
    out: list[JobRecord | ArrayLine] = []
    for item in order:
        if isinstance(item, JobRecord):
            out.append(item)
        else:
            tasks = arrays[item]
            out.append(ArrayLine(item[1], tasks[0].name, _counts(tasks)))
    return out
