"""`calendar`: the asking user's personal ICS feed link, and revoking it.

The link carries a secret token (anyone with it sees the feed), so it is only ever
shown privately; `calendar reset` replaces the token and the old link stops working.
"""

from __future__ import annotations

from idlbot.commands.context import Context
from idlbot.commands.registry import CommandGroup
from idlbot.commands.reply import Reply
from idlbot.domain.errors import UserError

group = CommandGroup("Course")


@group.command(
    "calendar",
    summary="Your personal calendar feed (deadlines and exercise sessions) for any calendar app.",
    usage="calendar [reset]",
    examples={"calendar": "Your calendar feed:", "calendar reset": "New calendar feed"},
)
async def calendar(ctx: Context, args: str) -> Reply:
    sub = args.strip().lower()
    if sub not in ("", "reset"):
        raise UserError("Usage: `/idl calendar` for your link, `/idl calendar reset` for a new one.")
    if ctx.reminders is None:
        raise UserError("Calendar feeds are not set up on this bot.")
    reset = sub == "reset"
    link = await ctx.reminders.calendar_link(ctx.user.id, ctx.user.username, ctx.clock.now(), reset=reset)
    if reset:
        return Reply.private(f"New calendar feed (the old link no longer works): {link}")
    return Reply.private(
        f"Your calendar feed: {link}\nAdd it as a subscription in your calendar app. Keep it to "
        "yourself; `/idl calendar reset` revokes it."
    )
