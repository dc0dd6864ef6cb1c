"""The Cluster port on Slurm's command-line tools, run as asyncio subprocesses.

Why the CLI and not JSON or slurmrestd: `sacct --json` in 22.05 is wrong (user null, exit code
SUCCESS for an exit-3 job), the openapi versions change between 22.05 and 24.x, and slurmrestd
needs its own daemon and auth. `sacct -P`, `squeue -O` and `scontrol -o` have been stable.

Every call has a timeout and runs with TZ=UTC and SLURM_TIME_FORMAT=%s, so times come back as
epoch seconds and the ISO times we pass in are read as UTC (Slurm parses them in local time).
SLURM_CONF comes from `SlurmSettings.conf` when set, else from the bot's environment.
Parsing functions are module-level and pure, so recorded outputs test them without a cluster.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from idlbot.config import SlurmSettings
from idlbot.domain.jobs import (
    TERMINAL_STATE_CODES,
    ClusterError,
    ExitCode,
    JobRecord,
    NodeInfo,
    Reservation,
    ReservationConflict,
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
    "tres-alloc,NodeList,Reason,Partition,TimeUsed,Name"
)
_SQUEUE_FORMAT = ",".join(f"{name}:|" for name in SQUEUE_FIELDS.split(","))  # "|" after each field
_SQUEUE_COUNT = SQUEUE_FIELDS.count(",") + 1
_NONE = frozenset({"", "None", "none", "N/A", "Unknown", "(null)", "None assigned"})
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
        nodes, reason, partition, used, name = fields[10:]
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


class SlurmCluster:
    """The Cluster port for one Slurm cluster (the bot's account needs `sacct -a` rights, and
    operator/root for reservations)."""

    def __init__(self, settings: SlurmSettings, *, timeout: float = 20.0, reservation_users: str = "root"):
        self._cluster = settings.cluster
        self._timeout = timeout
        self._users = reservation_users
        env = dict(os.environ)
        env.update({"TZ": "UTC", "SLURM_TIME_FORMAT": "%s"})
        if settings.conf:
            env["SLURM_CONF"] = settings.conf
        if settings.bin_dir:  # e.g. /opt/slurm/bin; first, so it wins over a distribution's tools
            env["PATH"] = os.pathsep.join([settings.bin_dir, env.get("PATH", os.defpath)])
        self._env: Mapping[str, str] = env
        self._version: tuple[int, int] | None = None

    async def _run(self, *argv: str, check: bool = True) -> tuple[int, str, str]:
        """Run one tool; raise ClusterError on timeout, a missing binary, or (with check) rc != 0."""
        started = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=dict(self._env),
            )
        except OSError as err:
            raise ClusterError(f"{argv[0]}: cannot run ({err.strerror})") from err
        try:
            out, err_out = await asyncio.wait_for(proc.communicate(), self._timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise ClusterError(f"{argv[0]} did not answer within {self._timeout:.0f} s") from None
        rc = proc.returncode if proc.returncode is not None else -1
        stdout, stderr = out.decode(errors="replace"), err_out.decode(errors="replace").strip()
        log.debug("%s rc=%d %.0fms", " ".join(argv[:2]), rc, (time.monotonic() - started) * 1e3)
        if check and rc != 0:
            raise ClusterError(
                f"{argv[0]} {argv[1] if len(argv) > 1 else ''} failed (rc {rc}): {stderr[:300]}"
            )
        return rc, stdout, stderr

    async def _sacct(self, *args: str) -> list[JobRecord]:
        _, out, _ = await self._run("sacct", "-X", "-a", "-P", "-n", "-o", SACCT_FIELDS, *args)
        return parse_sacct(out, self._cluster)

    async def jobs_ended_since(self, when: datetime) -> list[JobRecord]:
        """Jobs that reached a terminal state since `when` (aware). The reconciliation poll: pass
        the last watermark minus a margin; the store's key makes repeats harmless. `-s` is needed
        so jobs cancelled while pending (never started) are included."""
        since = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        records = await self._sacct("-S", since, "-E", "now", "-s", TERMINAL_STATE_CODES)
        # A job that ended within about a second of its submission can briefly show up half
        # written (JobName "allocation", no Partition; seen on 22.05). Leave it to the next poll,
        # which re-reads it thanks to the watermark margin.
        return [r for r in records if r.finished and r.partition]

    async def job_group(self, job_id: int) -> list[JobRecord]:
        """Every record of the latest submission of `job_id` (all tasks when it is an array)."""
        records = await self._sacct("-j", str(job_id), "-S", "1970-01-02")
        if not records:
            return []
        latest = max(r.submit for r in records)
        return [r for r in records if r.submit == latest]

    async def job(self, job_id: int) -> JobRecord | None:
        """The latest job with this raw id (ids restart, so sacct may know several), or None."""
        records = [r for r in await self.job_group(job_id) if r.job_id == job_id]
        if not records:  # submitted a moment ago: slurmdbd may not have the record yet
            records = [r for r in await self.running_and_pending() if r.job_id == job_id]
        return max(records, key=lambda r: r.submit) if records else None

    async def running_and_pending(self) -> list[JobRecord]:
        """Jobs in the queue now (pending, running, suspended, completing), all users."""
        _, out, _ = await self._run("squeue", "-h", "-a", "-t", "PD,R,S,CG,CF,RQ,RS,SO", "-O", _SQUEUE_FORMAT)
        return parse_squeue(out, self._cluster)

    async def reservations(self) -> list[Reservation]:
        _, out, _ = await self._run("scontrol", "-o", "show", "reservation")
        return parse_reservations(out)

    async def nodes(self) -> list[NodeInfo]:
        _, out, _ = await self._run("sinfo", "-h", "-N", "-o", "%N|%T|%E")
        return parse_sinfo_nodes(out)

    async def nodes_idle(self) -> bool:
        """True when no node runs a job: maintenance may begin without killing anything."""
        nodes = await self.nodes()
        return bool(nodes) and all(node.idle for node in nodes)

    async def version(self) -> tuple[int, int]:
        if self._version is None:
            _, out, _ = await self._run("scontrol", "--version")
            match = re.search(r"(\d+)\.(\d+)", out)
            self._version = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
        return self._version

    async def create_maintenance(
        self, name: str, start: datetime, end: datetime, reason: str = "", *, ignore_jobs: bool = False
    ) -> Reservation | ReservationConflict:
        """Create a MAINT reservation on all nodes.

        Without IGNORE_JOBS Slurm refuses ("Requested nodes are busy") while a running job's time
        limit reaches into the window; that comes back as a ReservationConflict listing those jobs
        from squeue, so the admin can decide (wait, or pass ignore_jobs=True: the jobs then keep
        running into the window, Slurm does not kill them). Other failures raise ClusterError.
        `reason` becomes the reservation's Comment on Slurm >= 23.02 (22.05 has no Comment and
        rejects it: "Unknown parameter Comment"); the bot should keep it in its own store too.
        """
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"reservation name {name!r}: letters, digits, _ . - only")
        fmt = "%Y-%m-%dT%H:%M:%S"
        begin, finish = start.astimezone(UTC).strftime(fmt), end.astimezone(UTC).strftime(fmt)
        argv = [
            "scontrol", "create", "reservation", f"ReservationName={name}",
            f"StartTime={begin}", f"EndTime={finish}",
            "Nodes=ALL", f"Users={self._users}", "Flags=MAINT,IGNORE_JOBS" if ignore_jobs else "Flags=MAINT",
        ]  # fmt: skip
        if reason and await self.version() >= (23, 2):
            argv.append(f"Comment={reason}")
        rc, out, err = await self._run(*argv, check=False)
        if rc != 0:
            message = (err or out).strip().splitlines()[0] if (err or out).strip() else f"rc {rc}"
            message = message.removeprefix("Error creating the reservation: ")
            if "busy" in message.lower():
                return ReservationConflict(name, message, tuple(await self._overlapping(start, end)))
            raise ClusterError(f"scontrol create reservation {name}: {message}")
        for reservation in await self.reservations():
            if reservation.name == name:
                return reservation
        raise ClusterError(f"reservation {name} was created but is not listed")

    async def _overlapping(self, start: datetime, end: datetime) -> list[JobRecord]:
        """Running jobs whose time limit reaches past `start` (those without a limit always do)."""
        out = []
        for job in await self.running_and_pending():
            if job.state != "RUNNING":
                continue
            if job.time_limit is None or job.start is None or job.start + job.time_limit > start:
                out.append(job)
        return out

    async def delete_reservation(self, name: str) -> bool:
        """Delete a reservation; False when there was none of that name."""
        rc, out, err = await self._run("scontrol", "delete", f"ReservationName={name}", check=False)
        if rc == 0:
            return True
        text = (err or out).lower()
        if "reservation is invalid" in text or "invalid reservation" in text or "not found" in text:
            return False
        raise ClusterError(f"scontrol delete reservation {name}: {(err or out).strip()[:300]}")
