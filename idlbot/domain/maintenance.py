"""Maintenance windows: the state machine and the messages. Pure, no I/O.

A window moves announced → reminded (the day before) → in progress → up again. "Up again"
waits for two things: the planned end has passed (or the reservation is gone after the
start) AND sinfo shows every node back in service. The planned end alone is not enough: a
power shutdown overruns, and "the cluster is up again" followed by failing logins is worse
than a late notice.

`decide` only says what is due; the service enqueues each post under a stable outbox key
and then records the step, so a crash between the two repeats an enqueue that the key
turns into a no-op: never lost, never doubled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from idlbot.domain.defuse import defuse
from idlbot.domain.jobs import JobRecord, NodeInfo, Reservation
from idlbot.domain.timefmt import format_clock, format_span

Source = Literal["bot", "slurm"]
REMIND_BEFORE = timedelta(days=1)
_DOWN_FLAGS = frozenset({"maint", "drain", "not_responding", "powered_down", "powering_down", "reboot"})
_UP_STATES = frozenset({"idle", "mixed", "allocated", "completing"})


@dataclass(frozen=True)
class Window:
    """One maintenance window as the bot tracks it. `key_base` is fixed when the window is
    first seen (name + first start), so a reservation name reused next month is a new
    window with its own posts; a moved window keeps its key base and posts a change."""

    name: str
    start: datetime
    end: datetime
    key_base: str
    reason: str = ""
    source: Source = "slurm"
    created_by: str | None = None
    announced_at: datetime | None = None
    reminded_at: datetime | None = None
    up_at: datetime | None = None
    cancelled_at: datetime | None = None
    warned_jobs: frozenset[int] = frozenset()

    @property
    def closed(self) -> bool:
        return self.up_at is not None or self.cancelled_at is not None

    def key(self, step: str) -> str:
        return f"{self.key_base}:{step}"


def key_base(name: str, start: datetime) -> str:
    return f"maint:{name}:{start.astimezone(UTC):%Y%m%dT%H%MZ}"


def new_window(
    r: Reservation, *, source: Source = "slurm", reason: str = "", by: str | None = None
) -> Window:
    return Window(r.name, r.start, r.end, key_base(r.name, r.start), reason, source, by)


@dataclass(frozen=True)
class Decision:
    """What is due now. `check_nodes`: the window is over, ask sinfo before saying "up"."""

    announce: bool = False
    remind: bool = False
    warn_jobs: bool = False
    check_nodes: bool = False
    cancelled: bool = False
    moved: bool = False


def decide(w: Window, seen: Reservation | None, now: datetime) -> Decision:
    """The steps due for `w`, given the reservation as Slurm lists it now (None: gone).

    * announce at once, unless the window was first seen when it was already over;
    * remind once when less than a day is left, unless the announcement itself came
      within that last day (it said the same thing moments ago);
    * warn job owners on every tick before the start (the outbox key allows one DM per
      user and window, so jobs submitted after the announcement are caught too);
    * gone before the start: cancelled (told only if it was announced);
    * after the end, or gone after the start: check the nodes for "up again".
    """
    if w.closed:
        return Decision()
    moved = seen is not None and (seen.start, seen.end) != (w.start, w.end)
    start, end = (seen.start, seen.end) if seen is not None else (w.start, w.end)
    if seen is None and now < start:
        return Decision(cancelled=True)
    over = now >= end or (seen is None and now >= start)
    announce = w.announced_at is None and not over
    announced = w.announced_at is not None or announce
    remind = (
        announced
        and w.reminded_at is None
        and start - REMIND_BEFORE <= now < start
        and (w.announced_at is not None and w.announced_at < start - REMIND_BEFORE)
    )
    return Decision(
        announce=announce,
        remind=remind,
        warn_jobs=announced and now < start,
        check_nodes=over,
        moved=moved and w.announced_at is not None,
    )


def cluster_back(nodes: Sequence[NodeInfo]) -> bool:
    """Every node answers and is in service again: idle (or already running jobs), with no
    maintenance, drain, power or not-responding flag. An empty list is not "back"."""
    return bool(nodes) and all(n.state in _UP_STATES and not (n.flags & _DOWN_FLAGS) for n in nodes)


def overlapping_jobs(jobs: Iterable[JobRecord], start: datetime, now: datetime) -> list[JobRecord]:
    """Running and pending jobs whose time limit reaches past `start`. A pending job starts
    at `now` at the earliest; a job without a limit always overlaps."""
    found = []
    for job in jobs:
        if job.state not in ("RUNNING", "PENDING", "SUSPENDED", "CONFIGURING"):
            continue
        begins = job.start if job.state != "PENDING" and job.start is not None else now
        if job.time_limit is None or begins + job.time_limit > start:
            found.append(job)
    return found


def jobs_by_owner(jobs: Iterable[JobRecord]) -> dict[str, list[JobRecord]]:
    owners: dict[str, list[JobRecord]] = {}
    for job in jobs:
        owners.setdefault(job.user, []).append(job)
    return owners


# --- messages -------------------------------------------------------------------------------


def _reason(w: Window) -> str:
    return f" ({defuse(w.reason)})" if w.reason else ""


def render_announce(w: Window, tz: ZoneInfo, cluster: str) -> str:
    """The notice the course used to post by hand two days ahead, with @all."""
    return (
        f"@all There will be a maintenance of the {defuse(cluster)} cluster: "
        f"{format_span(w.start, w.end, tz)}{_reason(w)}. The cluster cannot be used during the window. "
        f"Please make sure to complete any running jobs by {format_clock(w.start, tz)}! "
        "Jobs whose time limit reaches into the window will wait until it is over."
    )


def render_remind(w: Window, tz: ZoneInfo, cluster: str) -> str:
    return (
        f"@all Reminder: the {defuse(cluster)} cluster maintenance starts "
        f"{format_clock(w.start, tz)} and lasts until {format_clock(w.end, tz)}{_reason(w)}. "
        f"Please finish your running jobs by {format_clock(w.start, tz)}."
    )


def render_moved(w: Window, tz: ZoneInfo, cluster: str) -> str:
    return (
        f"@all The {defuse(cluster)} cluster maintenance has moved: it is now "
        f"{format_span(w.start, w.end, tz)}{_reason(w)}."
    )


def render_cancelled(w: Window, tz: ZoneInfo, cluster: str) -> str:
    return (
        f"@all The {defuse(cluster)} cluster maintenance planned for "
        f"{format_span(w.start, w.end, tz)} is cancelled. The cluster stays available."
    )


UP_AGAIN = (
    "@all The cluster is up again. You should be able to log in. Please post if you encounter any problems!"
)


def render_up(cluster: str) -> str:
    return UP_AGAIN.replace("The cluster", f"The {defuse(cluster)} cluster", 1)


def render_job_warning(w: Window, jobs: Sequence[JobRecord], tz: ZoneInfo) -> str:
    """The DM to one owner: which of their jobs reach into the window and what happens."""
    lines = [f"Cluster maintenance {format_span(w.start, w.end, tz)}{_reason(w)}. Your jobs:"]
    for job in jobs:
        name = defuse(job.name)
        if job.state == "PENDING":
            what = "is pending and will not start before the window if its time limit reaches into it"
        elif job.time_limit is None or job.start is None:
            what = "is running without a time limit"
        else:
            what = f"is running and may run until {format_clock(job.start + job.time_limit, tz)}"
        lines.append(f"- job {job.display_id} “{name}” {what}")
    lines.append(
        f"Please finish or cancel running work by {format_clock(w.start, tz)}, or resubmit with a "
        "shorter `--time` so it ends before the window."
    )
    return "\n".join(lines)


def render_window(w: Window, tz: ZoneInfo, now: datetime) -> str:
    if w.cancelled_at is not None:
        state = "cancelled"
    elif w.up_at is not None:
        state = "over, cluster back"
    elif now >= w.end:
        state = "over, waiting for the nodes"
    elif now >= w.start:
        state = "in progress"
    else:
        state = "reminded" if w.reminded_at else ("announced" if w.announced_at else "planned")
    origin = f"by @{w.created_by}" if w.created_by else "created in Slurm"
    return f"- “{defuse(w.name)}” {format_span(w.start, w.end, tz)}{_reason(w)}, {origin}: {state}"


def moved_to(w: Window, r: Reservation) -> Window:
    return replace(w, start=r.start, end=r.end)
