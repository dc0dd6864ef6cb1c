"""`deadlines`: what is due next, shown in the asking user's own Mattermost time zone.

The date math lives in domain/schedule.py (tested without an event loop); this module
only reads the arguments and phrases the reply."""

from __future__ import annotations

from idlbot.commands.context import Context
from idlbot.commands.registry import CommandGroup
from idlbot.commands.reply import Reply
from idlbot.domain import schedule, timefmt
from idlbot.domain.errors import UserError

group = CommandGroup("Course")

MAX_DEADLINES = 20


@group.command(
    "deadlines",
    summary="The next deadlines and exercise sessions, in your time zone.",
    usage="deadlines [n]",
    examples={
        "deadlines": "Times are in Europe/Berlin.",
        "deadlines 3": "Times are in Europe/Berlin.",
    },
)
async def deadlines(ctx: Context, args: str) -> Reply:
    try:
        count = int(args) if args else 5
    except ValueError:
        raise UserError("Give a number of deadlines, e.g. `/idl deadlines 3`.") from None
    if not 1 <= count <= MAX_DEADLINES:
        raise UserError(f"Give a number from 1 to {MAX_DEADLINES}, e.g. `/idl deadlines 3`.")
    now = ctx.clock.now()
    upcoming = schedule.upcoming(ctx.course, now=now, limit=count)
    return Reply.private(timefmt.render_deadlines(upcoming, ctx.user.tz, now, zone_name=ctx.user.tz_name))
