"""`maintenance`: instructors plan cluster maintenance windows (Slurm MAINT reservations).

`add` creates the reservation at once, so no new job runs into the window; the bot then
announces, reminds, warns job owners and says when the cluster is back (see
services/maintenance.py). When Slurm refuses because running jobs reach into the window,
the reply lists those jobs; `--ignore-jobs` creates it anyway (the jobs keep running).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, time, timedelta

from idlbot.commands.context import Context
from idlbot.commands.registry import CommandGroup, UsageError
from idlbot.commands.reply import Reply
from idlbot.domain import when
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import UserError
from idlbot.domain.job_render import render_conflict
from idlbot.domain.jobs import ClusterError, ReservationConflict
from idlbot.domain.maintenance import render_window
from idlbot.domain.roles import Role
from idlbot.domain.schedule import wall_clock
from idlbot.domain.timefmt import format_span

log = logging.getLogger(__name__)

group = CommandGroup("Cluster")

_ONCE = "a maintenance window happens once; give a date."
_CLOCK = re.compile(r"(?P<h>\d{1,2}):(?P<m>\d{2})(?=\s|$)")


def parse_window(text: str, *, now: datetime, ctx: Context) -> tuple[datetime, datetime, str]:
    """`<start> <end> <reason>`: start in any `when` format; end either a full time or just
    `HH:MM` (on the start's day, or the next day when that is not after the start)."""
    tz = ctx.course.tz
    start_when, rest = when.parse_prefix(text, now=now, tz=tz, weekly=False, once_hint=_ONCE)
    start = start_when.first
    m = _CLOCK.match(rest)
    if m is not None and int(m["h"]) < 24 and int(m["m"]) < 60:
        day = start.astimezone(tz).date()
        end = wall_clock(day, time(int(m["h"]), int(m["m"])), tz)
        if end <= start:
            end = wall_clock(day + timedelta(days=1), time(int(m["h"]), int(m["m"])), tz)
        rest = rest[m.end() :].strip()
    else:
        end_when, rest = when.parse_prefix(rest, now=now, tz=tz, weekly=False, once_hint=_ONCE)
        end = end_when.first
    if end <= start:
        raise UserError("The end must come after the start.")
    if not rest:
        raise UserError("Give a reason, e.g. `… power shutdown by the university`.")
    return start, end, rest


@group.command(
    "maintenance",
    summary="Plan cluster maintenance: the bot reserves the nodes, announces and reminds.",
    usage=(
        "maintenance add <start> <end> <reason> [--ignore-jobs] | maintenance list"
        " | maintenance cancel <name>"
    ),
    examples={
        "maintenance list": "Maintenance windows:",
        "maintenance add fri 04:00 12:00 power shutdown by the university": (
            "Maintenance “maint\\_20181026\\_0200” reserved on all nodes: "
            "Fri 26 Oct 2018, 04:00\u201312:00 CEST."
        ),
    },
    role=Role.INSTRUCTOR,
    needs=("maintenance",),
)
async def maintenance(ctx: Context, args: str) -> Reply:
    try:
        return await _maintenance(ctx, args)
    except ClusterError as err:
        # Slurm down or refusing is an outage to report, not a bug of ours ("Something broke")
        log.warning("maintenance %s: slurm failed: %s", args.split(" ", 1)[0][:20], err)
        raise UserError(
            f"Slurm did not do it ({defuse(str(err)[:200])}), so nothing changed; try again in a few minutes."
        ) from None


async def _maintenance(ctx: Context, args: str) -> Reply:
    sub, _, rest = args.strip().partition(" ")
    sub, rest = sub.lower(), rest.strip()
    port = ctx.ports.maintenance
    now = ctx.clock.now()
    if sub == "list" and not rest:
        windows = await port.windows(now)
        if not windows:
            return Reply.private("No maintenance windows are planned.")
        return Reply.private(
            "\n".join(["Maintenance windows:", *(render_window(w, ctx.user.tz, now) for w in windows)])
        )
    if sub == "cancel" and rest:
        w = await port.cancel(rest.split()[0], now=now)
        return Reply.private(f"Maintenance “{defuse(w.name)}” is cancelled; the cluster channel is told.")
    if sub == "add" and rest:
        ignore = False
        words = rest.split()
        if "--ignore-jobs" in words:
            ignore = True
            rest = " ".join(w for w in words if w != "--ignore-jobs")
        start, end, reason = parse_window(rest, now=now, ctx=ctx)
        result = await port.add(start, end, reason, by=ctx.user.username, ignore_jobs=ignore, now=now)
        if isinstance(result, ReservationConflict):
            return Reply.private(
                render_conflict(result, ctx.user.tz)
                + "\nWait until they end, or add `--ignore-jobs` (they keep running into the window)."
            )
        span = format_span(result.window.start, result.window.end, ctx.user.tz)
        told = " It is announced in the cluster channel." if result.announced else ""
        return Reply.private(
            f"Maintenance “{defuse(result.window.name)}” reserved on all nodes: {span}. "
            f"No job that would run into it will start.{told}"
        )
    raise UsageError()
