"""What the bot says about Slurm jobs, arrays and reservations, as Mattermost Markdown.

Everything shown here comes from Slurm and so from users (job names, reasons): it goes
through `defuse` (no mention, literal Markdown) and names are set in quotes, not in code
spans (backslash escapes would show inside code).
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from idlbot.domain.defuse import defuse
from idlbot.domain.jobs import ArraySummary, JobRecord, Outcome, Reservation, ReservationConflict
from idlbot.domain.timefmt import format_clock, format_span


def _parts(span: timedelta) -> tuple[int, int, int, int]:
    """(days, hours, minutes, seconds) of a span, negative spans as zero."""
    total = max(int(span.total_seconds()), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    return (days, hours, *divmod(rest, 60))


def format_duration(span: timedelta) -> str:
    """Slurm's own style, which students know from squeue: 0:05, 1:02:03, 2-03:04:05."""
    days, hours, minutes, seconds = _parts(span)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{seconds:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


def human_duration(span: timedelta) -> str:
    """For sentences: "45 s", "3 min 05 s", "12 min", "1 h 02 min", "2 h", "1 d 3 h"."""
    days, hours, minutes, seconds = _parts(span)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {seconds:02d} s" if seconds and minutes < 10 else f"{minutes} min"
    return f"{seconds} s"


def ran_for(record: JobRecord) -> str:
    """ "ran 1 h 02 min of its 2 h limit"; a job that hit the limit says so instead."""
    if record.outcome is Outcome.TIMEOUT and record.time_limit is not None:
        return f"ran {human_duration(record.elapsed)}, all of its {human_duration(record.time_limit)} limit"
    if record.time_limit is None:
        return f"ran {human_duration(record.elapsed)} (no time limit)"
    return f"ran {human_duration(record.elapsed)} of its {human_duration(record.time_limit)} limit"


def _cancelled_by(record: JobRecord) -> str:
    """sacct says "CANCELLED by 1001" (a uid): the owner reads "by you", anyone else's uid stays."""
    by = record.state_detail.removeprefix("by ").strip()
    if record.uid is not None and by == str(record.uid):
        return "by you"
    return f"by uid {defuse(by)}" if by.isdigit() else defuse(record.state_detail)


def _exit_detail(record: JobRecord) -> str:
    code = record.exit_code
    if record.outcome is Outcome.FAILED or code.status:
        detail = f"exit code {code.status}"
        return detail + (f", signal {code.signal}" if code.signal else "")
    return f"signal {code.signal}" if code.signal else ""


def render_job(record: JobRecord, tz: ZoneInfo) -> str:
    """The DM for one finished job, e.g. "Job **5** “f3” on idl-gpu failed (exit code 3); it ran
    2 s of its 1 h limit, ended Tue 01 Dec 2026, 20:10 UTC." The limit comes from sacct's
    Timelimit, which both paths read (MailProg events are enriched from sacct too)."""
    what = record.outcome.value
    if record.outcome is Outcome.CANCELLED and record.state_detail:
        what += f" ({_cancelled_by(record)})"
    detail = _exit_detail(record)
    if detail and record.outcome is not Outcome.CANCELLED:
        what += f" ({detail})"
    parts = [f"Job **{record.display_id}** “{defuse(record.name)}” on {defuse(record.cluster)} {what}"]
    if record.gpus:
        parts.append(f"with {record.gpus} GPU{'s' if record.gpus != 1 else ''}")
    text = " ".join(parts)
    if record.start is not None:
        text += f"; it {ran_for(record)}"
    if record.end is not None:
        text += f", ended {format_clock(record.end, tz)}"
    return text + "."


def render_array(summary: ArraySummary, tz: ZoneInfo) -> str:
    """The DM for a whole array: counts per state and which tasks did not complete."""
    counts = ", ".join(f"{n} {state}" for state, n in summary.counts.items())
    head = (
        f"Array job **{summary.array_job_id}** “{defuse(summary.name)}” on {defuse(summary.cluster)}: "
        f"{summary.task_count} task{'s' if summary.task_count != 1 else ''} ({counts})"
    )
    bad = summary.unsuccessful_tasks
    if bad:
        shown = ", ".join(str(t) for t in bad[:20]) + (f" and {len(bad) - 20} more" if len(bad) > 20 else "")
        head += f"; not completed: task{'s' if len(bad) != 1 else ''} {shown}"
    ends = [t.end for t in summary.tasks if t.end is not None]
    if ends and summary.outcome is not Outcome.ACTIVE:
        head += f", last ended {format_clock(max(ends), tz)}"
    return head + "."


def render_reservation(reservation: Reservation, tz: ZoneInfo) -> str:
    """ "Maintenance “m1” on all nodes: Thu 10 Dec 2026, 08:00-09:00 UTC (ACTIVE)." (en dash)"""
    kind = "Maintenance" if reservation.maintenance else "Reservation"
    where = "all nodes" if "ALL_NODES" in reservation.flags else (defuse(reservation.nodes) or "no nodes")
    state = f" ({reservation.state})" if reservation.state else ""
    span = format_span(reservation.start, reservation.end, tz)
    return f"{kind} “{defuse(reservation.name)}” on {where}: {span}{state}."


def render_conflict(conflict: ReservationConflict, tz: ZoneInfo) -> str:
    """What an admin sees when a window overlaps running jobs; IGNORE_JOBS is the way out."""
    lines = [f"Could not create “{defuse(conflict.name)}”: {defuse(conflict.message)}"]
    for job in conflict.jobs:
        ends = ""
        if job.start is not None and job.time_limit is not None:
            ends = f", may run until {format_clock(job.start + job.time_limit, tz)}"
        elif job.time_limit is None:
            ends = ", no time limit"
        lines.append(f"- job {job.display_id} “{defuse(job.name)}” of {defuse(job.user)}{ends}")
    return "\n".join(lines)
