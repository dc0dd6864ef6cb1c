"""`deadlines`: what is due next, shown in the asking user's own Mattermost time zone.

A student sees the sessions of their own exercise group (from the roster), a tutor those
of the groups they tutor (from the course config): three groups' sessions interleaved
would bury the one that matters. `deadlines all` shows every group's, e.g. to swap
into another session. Assignment and question deadlines concern everyone and are always
shown. The date math lives in domain/schedule.py (tested without an event loop), the list
kept while it holds in domain/deadline_list.py; this module only reads the arguments,
picks the groups and phrases the reply."""

from __future__ import annotations

from idlbot.commands.context import Context
from idlbot.commands.policy import tutored_ids
from idlbot.commands.registry import CommandGroup, UsageError
from idlbot.commands.reply import Reply
from idlbot.domain import deadline_list
from idlbot.domain.errors import UserError
from idlbot.domain.roles import Role

group = CommandGroup("Course")

MAX_DEADLINES = 20
EVERY_GROUP = "`/idl deadlines all` shows every group's."


@group.command(
    "deadlines",
    summary="The next deadlines and your exercise sessions (`all`: every group's), in your time zone.",
    usage="deadlines [all] [n]",
    examples={
        "deadlines": "Times are in Europe/Berlin.",
        "deadlines 3": "Times are in Europe/Berlin.",
        "deadlines all 5": "Times are in Europe/Berlin.",
    },
)
async def deadlines(ctx: Context, args: str) -> Reply:
    words = args.lower().split()
    every = "all" in words
    numbers = [w for w in words if w != "all"]
    if len(numbers) > 1:
        raise UsageError("Give at most one number, e.g. `/idl deadlines all 3`.")
    try:
        count = int(numbers[0]) if numbers else 5
    except ValueError:
        raise UsageError("Give a number of deadlines, e.g. `/idl deadlines 3`.") from None
    if not 1 <= count <= MAX_DEADLINES:
        raise UserError(f"Give a number from 1 to {MAX_DEADLINES}, e.g. `/idl deadlines 3`.")
    groups, note = (None, "") if every else await _sessions_for(ctx)
    user, now = ctx.user, ctx.clock.now()
    text = deadline_list.LISTS.text(
        ctx.course, now=now, limit=count, groups=groups, tz=user.tz, zone_name=user.tz_name
    )
    return Reply.private(f"{text}\n\n{note}" if note else text)


async def _sessions_for(ctx: Context) -> tuple[frozenset[str] | None, str]:
    """Whose exercise sessions to show (None: every group's) and a line saying so."""
    if ctx.user.role is Role.INSTRUCTOR:
        return None, ""
    if ctx.user.role is Role.TUTOR:
        mine = tutored_ids(ctx.user, ctx.course)
        if not mine:
            return None, ""
        return frozenset(mine), f"Exercise sessions: the groups you tutor ({', '.join(mine)}). {EVERY_GROUP}"
    if not ctx.ports.wired("qualification"):  # a bot without a roster still has deadlines
        return None, ""
    student = await ctx.ports.qualification.student(ctx.user.username)
    found = ctx.course.group(student.group_id) if student is not None and student.group_id else None
    if found is None:
        why = "not in the course roster" if student is None else "in no exercise group on the roster"
        return None, (
            f"Exercise sessions: every group's, as you are {why}; ask your tutor or an instructor to add you."
        )
    return frozenset({found.id}), f"Exercise sessions: your group's ({found.name}). {EVERY_GROUP}"
