"""When the `notify jobs all` path reads sacct: soon after a job ends, seldom otherwise.

sacct is answered by slurmdbd, a database that a whole cluster's users query; squeue by
slurmctld, from memory. So the notifier lists the queue with squeue on every tick (`fast`
seconds while a student on `all` has a job queued or one that ended untold, `idle` seconds
otherwise) and runs its one sacct query only when that listing shows such a job that has
ended and was not told yet. An array counts as ended when slurmctld holds no task of it
that is still queued or running, so its DM does not wait for a fixed settling time.
The full poll every `poll_seconds` stays as the catch-up for what the bot missed while down.

squeue shows an ended job for MinJobAge seconds (Slurm's default is 300), so `idle` must
stay well below that. A job whose end sacct does not show yet (slurmdbd is written
asynchronously) is chased with a doubling pause, and never longer than `horizon`: past
that, the full poll is the one that finds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from idlbot.domain.jobs import JobKey, JobRecord


def watch_key(record: JobRecord) -> JobKey:
    """The notice key a queue record belongs to: its array's for an array task."""
    if record.array_job_id is not None:
        return JobKey(record.cluster, record.array_job_id, record.submit)
    return record.key


@dataclass
class _Chase:
    end: datetime
    next_try: datetime
    tries: int = 0


class EndWatch:
    """The state between ticks: which ended jobs were told, which are being chased."""

    def __init__(self, *, fast: float, idle: float, horizon: timedelta = timedelta(minutes=5)) -> None:
        self.fast = fast
        self.idle = idle
        self._horizon = horizon
        self._told: dict[JobKey, datetime] = {}
        self._chasing: dict[JobKey, _Chase] = {}
        self._busy = False

    def observe(self, queue: Iterable[JobRecord], users: set[str], now: datetime) -> list[JobKey]:
        """From one squeue listing: the keys of ended jobs (whole arrays) of `users` whose
        sacct read is due now."""
        groups: dict[JobKey, list[JobRecord]] = {}
        for record in queue:
            if record.user in users:
                groups.setdefault(watch_key(record), []).append(record)
        self._busy = any(not r.finished for records in groups.values() for r in records)
        oldest = now - self._horizon
        for key, records in groups.items():
            ends = [r.end for r in records if r.end is not None]
            if not all(r.finished for r in records) or not ends or max(ends) < oldest:
                continue
            if key not in self._told and key not in self._chasing:
                self._chasing[key] = _Chase(max(ends), next_try=now)
        self._told = {k: end for k, end in self._told.items() if end >= oldest}
        self._chasing = {k: c for k, c in self._chasing.items() if c.end >= oldest}
        return [k for k, c in self._chasing.items() if c.next_try <= now]

    def tried(self, key: JobKey, *, told: bool, now: datetime) -> None:
        """After a sacct read for `key`: done if it is told, else try again later."""
        chase = self._chasing.get(key)
        if chase is None:
            return
        if told:
            self._told[key] = chase.end
            del self._chasing[key]
            return
        chase.tries += 1
        chase.next_try = now + timedelta(seconds=self.fast * 2 ** min(chase.tries, 5))

    def next_tick(self, now: datetime) -> datetime:
        """Soon while something may end or has ended untold; else after `idle`."""
        return now + timedelta(seconds=self.fast if self._busy or self._chasing else self.idle)


def array_in_queue(queue: Sequence[JobRecord], array_job_id: int, user: str) -> list[JobRecord]:
    """The records slurmctld holds of one array (ids are unique while it holds them)."""
    return [r for r in queue if r.array_job_id == array_job_id and r.user == user]
