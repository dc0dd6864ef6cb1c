"""`health`, for staff: is the bot connected, is anything stuck in the outbox?

Tutors are the first to hear "the bot doesn't answer", so they get the same view as
instructors; students do not, as it shows delivery errors of other people's posts."""

from __future__ import annotations

from datetime import datetime

from idlbot.commands.context import Context
from idlbot.commands.registry import CommandGroup
from idlbot.commands.reply import Reply
from idlbot.domain.defuse import defuse
from idlbot.domain.roles import Role

group = CommandGroup("Staff")


def _age(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "none"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


@group.command(
    "health",
    summary="Connection, outbox and schema state of the bot.",
    usage="health",
    examples={"health": "Websocket: connected (2 reconnects)"},
    role=Role.TUTOR,
    needs=("health",),
)
async def health(ctx: Context, args: str) -> Reply:
    snap = await ctx.ports.health.snapshot()
    now = ctx.clock.now()
    schema = snap.schema_revision or "none"
    schema_note = "at head" if snap.schema_revision == snap.schema_head else f"head is {snap.schema_head}"
    lines = [
        f"Websocket: {snap.websocket_state} ({snap.reconnects} reconnects)",
        f"Database: {'reachable' if snap.database_ok else 'UNREACHABLE'}; schema {schema} ({schema_note})",
        f"Outbox: {snap.outbox_backlog} pending; oldest pending {_age(now, snap.oldest_pending)}",
    ]
    if snap.last_errors:
        lines.append("Last delivery errors:")
        # an error may quote a channel name someone typed, or the server's own words
        lines.extend(f"- `{key}`: {defuse(error)}" for key, error in snap.last_errors)
    else:
        lines.append("Last delivery errors: none")
    uptime = "unknown" if snap.started_at is None else _age(now, snap.started_at).replace(" ago", "")
    lines.append(f"Version {snap.version}, up {uptime}.")
    return Reply.private("\n".join(lines))
