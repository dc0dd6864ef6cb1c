"""`calendar`: the asking user's personal ICS feed link, and revoking it.

The link carries a secret token (anyone with it sees the feed), so it is only ever
shown privately; `calendar reset` replaces the token and the old link stops working.
"""

from __future__ import annotations

from idlbot.commands.context import Context
from idlbot.commands.registry import CommandGroup, UsageError
from idlbot.commands.reply import Reply

group = CommandGroup("Course")


@group.command(
    "calendar",
    summary="Your personal calendar feed (deadlines and exercise sessions) for any calendar app.",
    usage="calendar [reset]",
    examples={
        "calendar": "Your calendar feed: https://",
        "calendar reset": "New calendar feed (the old link no longer works): https://",
    },
    needs=("reminders",),
)
async def calendar(ctx: Context, args: str) -> Reply:
    sub = args.strip().lower()
    if sub not in ("", "reset"):
        raise UsageError("`/idl calendar` shows your link, `/idl calendar reset` makes a new one.")
    reset = sub == "reset"
    link = await ctx.ports.reminders.calendar_link(
        ctx.user.id, ctx.user.username, ctx.clock.now(), reset=reset
    )
    if reset:
        return Reply.private(f"New calendar feed (the old link no longer works): {link}")
    return Reply.private(
        f"Your calendar feed: {link}\nAdd it as a subscription in your calendar app. Keep it to "
        "yourself; `/idl calendar reset` revokes it."
    )
