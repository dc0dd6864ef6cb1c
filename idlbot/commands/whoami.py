"""`whoami`: the role the bot sees for you, your exercise group and linked accounts.

Students check this first when a command is refused, so it says where the role comes
from (the course config) rather than only naming it."""

from __future__ import annotations

from idlbot.commands import policy
from idlbot.commands.context import Context
from idlbot.commands.registry import CommandGroup
from idlbot.commands.reply import Reply
from idlbot.domain.roles import Role

group = CommandGroup("Course")


@group.command(
    "whoami",
    summary="Your role, exercise group and linked accounts as I see them.",
    usage="whoami",
    examples={"whoami": "You are @alice, a student."},
)
async def whoami(ctx: Context, args: str) -> Reply:
    user = ctx.user
    lines = [f"You are @{user.username}, {user.role.with_article}."]
    tutored = policy.tutored(user, ctx.course)
    if tutored:
        names = ", ".join(f"{g.name} ({g.room})" for g in tutored)
        lines.append(f"Exercise groups you tutor: {names}.")
    elif user.role is Role.STUDENT:
        lines.append("Exercise group: not known yet (the roster is not imported).")
    lines.append(f"Mattermost: @{user.username} (id `{user.id}`), time zone {user.tz_name}.")
    lines.append("GitLab and cluster accounts: not linked yet.")
    if user.role is Role.STUDENT:
        lines.append("Roles come from the course config; ask an instructor if yours is wrong.")
    return Reply.private("\n".join(lines))
