"""A Slurm job event from the MailProg (`idlbot-slurm-mail`), checked once where it enters.

The MailProg writes a JSON object (`mailprog.build_event`): an `id`, the cluster, the job id,
and every SLURM_* variable slurmctld gave it under `env`. `parse_job_event` turns that object
into a `JobEvent` at the door (the `/slurm/event` route, the spool reader) and reports every
problem in one message, so the route can answer 400 with it. The object itself is kept as
`payload` and stored unchanged: events stored by an older bot parse the same way when the
reconciliation retries them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_EVENT_ID = 64  # the store's key column
MAX_JOB_NUMBER = 2**32 - 1  # Slurm's job ids and task counts are uint32
MAX_DIGITS = len(str(MAX_JOB_NUMBER))


class InvalidJobEvent(ValueError):
    """The event cannot be handled; the message names every problem and is safe to return."""


@dataclass(frozen=True)
class JobEvent:
    """One MailProg event. `cluster` is None when the event names none (the notifier's own
    cluster is meant). `array_task_count` (SLURM_ARRAY_TASK_COUNT) is None for a plain job;
    it matters because slurmdbd writes task records late: seen on 22.05, an array's END mail
    arrived while sacct knew 3 of 5 tasks, all ended, so "all known tasks ended" is not
    enough."""

    id: str
    job_id: int
    cluster: str | None
    array_task_count: int | None
    payload: Mapping[str, Any]


def parse_job_event(data: object) -> JobEvent:
    """`data` as decoded from JSON; raises InvalidJobEvent naming every problem."""
    if not isinstance(data, Mapping):
        raise InvalidJobEvent("event is not a JSON object")
    env = data.get("env")
    env = env if isinstance(env, Mapping) else {}
    event_id = data.get("id")
    job_id = _job_id(data, env)
    problems = []
    if not isinstance(event_id, str) or not event_id:
        problems.append("no id")
    elif len(event_id) > MAX_EVENT_ID:
        problems.append(f"id longer than {MAX_EVENT_ID} characters")
    elif not (event_id.isascii() and event_id.isprintable()):
        problems.append("id is not printable ASCII")
    if job_id is None:
        problems.append("no numeric job id (job_id, SLURM_JOB_ID or SLURM_ARRAY_JOB_ID)")
    cluster = data.get("cluster")
    if cluster is not None and not _name(cluster):
        problems.append(f"cluster is not a name of printable ASCII of at most {MAX_EVENT_ID} characters")
    # the last two tests repeat what `problems` says; mypy needs them to narrow the types
    if problems or not isinstance(event_id, str) or job_id is None:
        raise InvalidJobEvent("event: " + "; ".join(problems))
    return JobEvent(
        id=event_id,
        job_id=job_id,
        cluster=cluster if isinstance(cluster, str) and cluster else None,
        array_task_count=_number(env.get("SLURM_ARRAY_TASK_COUNT")),
        payload=data,
    )


def _job_id(data: Mapping[str, Any], env: Mapping[str, Any]) -> int | None:
    """The job the event is about. For an array Slurm mails once with the array job id in
    SLURM_ARRAY_JOB_ID (SLURM_JOB_ID is then the id of the last task, which is the same
    number on 22.05; prefer the array id in case it is not)."""
    for value in (env.get("SLURM_ARRAY_JOB_ID"), data.get("job_id"), env.get("SLURM_JOB_ID")):
        number = _number(value)
        if number is not None:
            return number
    return None


def _name(value: object) -> bool:
    """A cluster name as slurm.conf allows it (it ends up in keys and log lines)."""
    return isinstance(value, str) and len(value) <= MAX_EVENT_ID and value.isascii() and value.isprintable()


def _number(value: object) -> int | None:
    """A non-negative integer sent as text, as every SLURM_* variable is, within Slurm's
    32-bit ids; else None. ASCII digits only: `str.isdigit` also accepts "²", which `int`
    refuses; and at most MAX_DIGITS of them, since `int` refuses 4 300 and more."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS):
        return None
    number = int(text)
    return number if number <= MAX_JOB_NUMBER else None
