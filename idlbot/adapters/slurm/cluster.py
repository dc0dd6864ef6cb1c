"""The Cluster port on Slurm's command-line tools, run as asyncio subprocesses.

Why the CLI and not JSON or slurmrestd: `sacct --json` in 22.05 is wrong (user null, exit code
SUCCESS for an exit-3 job), the openapi versions change between 22.05 and 24.x, and slurmrestd
needs its own daemon and auth. `sacct -P`, `squeue -O` and `scontrol -o` have been stable.

Every call has a timeout and runs with TZ=UTC and SLURM_TIME_FORMAT=%s, so times come back as
epoch seconds and the ISO times we pass in are read as UTC (Slurm parses them in local time).
SLURM_CONF comes from `SlurmSettings.conf` when set, else from the bot's environment.
Parsing is `adapters/slurm/parse.py`: pure, so recorded outputs test it without a cluster.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from idlbot.adapters.slurm.parse import (
    SACCT_FIELDS,
    SQUEUE_FORMAT,
    parse_reservations,
    parse_sacct,
    parse_sinfo_nodes,
    parse_squeue,
)
from idlbot.config import SlurmSettings
from idlbot.domain.jobs import (
    TERMINAL_STATE_CODES,
    ClusterError,
    JobRecord,
    NodeInfo,
    Reservation,
    ReservationConflict,
)

log = logging.getLogger(__name__)


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
        _, out, _ = await self._run("squeue", "-h", "-a", "-t", "PD,R,S,CG,CF,RQ,RS,SO", "-O", SQUEUE_FORMAT)
        return parse_squeue(out, self._cluster)

    async def queued(self, job_id: str | None = None) -> list[JobRecord]:
        """What slurmctld holds, ended jobs included (for MinJobAge seconds after their end):
        all jobs, or those of `job_id` ("12", or "12_3" for one array task). One squeue call,
        answered by slurmctld from memory, so it does not load slurmdbd. An id it does not
        know (never, or ended longer ago than MinJobAge) gives [], not an error."""
        select = ["-j", job_id] if job_id is not None else []
        rc, out, err = await self._run(
            "squeue", "-h", "-a", "-t", "all", *select, "-O", SQUEUE_FORMAT, check=False
        )
        if rc != 0:
            if job_id is not None and "invalid job id" in (err or out).lower():
                return []
            raise ClusterError(f"squeue failed (rc {rc}): {(err or out).strip()[:300]}")
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
