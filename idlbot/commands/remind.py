"""`remind`: staff manage reminders (list, add, cancel, test, log); everyone can mute
their personal nudges (off, on).

Parsing of "when" lives in domain/when.py and planning in domain/reminders.py; this
module reads the arguments, checks the role per subcommand and phrases the reply.
Times are shown in the asking user's zone, with the zone named.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from idlbot.commands.context import Context
from idlbot.commands.registry import CommandGroup, ForRole, UsageError
from idlbot.commands.reply import Reply
from idlbot.domain import timefmt, when
from idlbot.domain.errors import Forbidden, NotFound, UserError
from idlbot.domain.roles import Role

group = CommandGroup("Reminders")

STAFF = Role.TUTOR
MAX_LOG = 50


def _staff(ctx: Context, sub: str) -> None:
    if ctx.user.role < STAFF:
        raise Forbidden(
            f"`/idl remind {sub}` is for tutors and instructors; you are {ctx.user.role.with_article}."
        )


@group.command(
    "remind",
    summary="Reminders: staff list, add, cancel, test and review them; anyone mutes their nudges.",
    usage="remind list | add <when> <channel> <text> | cancel <id> | test <id> | log [n] | off | on",
    examples={
        "remind off": "Personal reminders are off. `/idl remind on` turns them back on.",
        "remind on": "Personal reminders are on again.",
        "remind list": ForRole(STAFF, "Next 3 reminders (times in Europe/Berlin):"),
        "remind add tue 10:00 questions Two hours left to file questions.": ForRole(
            STAFF, "Reminder 1 set: Tue 23 Oct 2018, 10:00 CEST (tomorrow) to ~questions."
        ),
    },
    needs=("reminders",),
)
async def remind(ctx: Context, args: str) -> Reply:
    sub, _, rest = args.strip().partition(" ")
    handler = _SUBCOMMANDS.get(sub.lower())
    if handler is None:
        raise UsageError()
    if sub.lower() not in ("off", "on"):
        _staff(ctx, sub.lower())
    return await handler(ctx, rest.strip())


async def _list(ctx: Context, args: str) -> Reply:
    now = ctx.clock.now()
    upcoming = await ctx.ports.reminders.upcoming(now, 10)
    if not upcoming:
        return Reply.private("No reminders are planned for the rest of the term.")
    lines = [f"Next {len(upcoming)} reminders (times in {ctx.user.tz_name}):"]
    for f in upcoming:
        ident = f"#{f.custom_id}" if f.custom_id is not None else f"`{f.key}`"
        lines.append(f"- {timefmt.format_when(f.fire_at, ctx.user.tz, now)} {ident} to {f.target}")
    return Reply.private("\n".join(lines))


async def _add(ctx: Context, args: str) -> Reply:
    now = ctx.clock.now()
    if not args:
        raise UsageError("For example `/idl remind add tue 10:00 questions Hi`.")
    spec, rest = when.parse_prefix(args, now=now, tz=ctx.course.tz)
    channel, _, text = rest.partition(" ")
    channel = channel.removeprefix("~").lower()
    if not channel or not text.strip():
        raise UserError(
            "Give a channel and the text after the time, e.g. `remind add in 2h questions Hi all`."
        )
    reminder = await ctx.ports.reminders.add(
        kind=spec.kind,
        first=spec.first,
        channel=channel,
        text=text.strip(),
        created_by=ctx.user.username,
        now=now,
    )
    tz = ctx.user.tz
    first = timefmt.format_when(reminder.first, tz, now)
    if reminder.kind == "weekly":
        local = reminder.first.astimezone(tz)
        return Reply.private(
            f"Weekly reminder {reminder.id} set: {local:%a %H:%M} {local.tzname()} to ~{channel}, "
            f"first {first}."
        )
    return Reply.private(f"Reminder {reminder.id} set: {first} to ~{channel}.")


def _id(args: str, sub: str) -> int:
    text = args.strip().removeprefix("#")
    if not text.isdigit():
        raise UserError(f"Give the reminder's number from `/idl remind list`, e.g. `/idl remind {sub} 3`.")
    return int(text)


async def _cancel(ctx: Context, args: str) -> Reply:
    reminder = await ctx.ports.reminders.cancel(_id(args, "cancel"))
    if reminder is None:
        raise NotFound(f"There is no reminder {args.strip()}. Reminders from the config are changed there.")
    return Reply.private(f"Reminder {reminder.id} cancelled.")


async def _test(ctx: Context, args: str) -> Reply:
    ident = args.strip().removeprefix("#")
    if not ident:
        raise UserError("Give a reminder number or key from `/idl remind list`, e.g. `/idl remind test 3`.")
    found = await ctx.ports.reminders.preview(ident, ctx.clock.now())
    if found is None:
        raise NotFound(f"There is no reminder `{ident}`.")
    at = timefmt.format_clock(found.fire_at, ctx.user.tz)
    return Reply.private(f"Preview of `{found.key}` ({at}, to {found.target}):\n\n{found.text}")


async def _log(ctx: Context, args: str) -> Reply:
    try:
        count = int(args) if args else 20
    except ValueError:
        raise UserError("Give a number of entries, e.g. `/idl remind log 10`.") from None
    if not 1 <= count <= MAX_LOG:
        raise UserError(f"Give a number from 1 to {MAX_LOG}.")
    records = await ctx.ports.reminders.log(count)
    if not records:
        return Reply.private("No reminder has fired yet.")
    lines = [f"Last {len(records)} reminders (times in {ctx.user.tz_name}):"]
    for r in records:
        at = timefmt.format_clock(r.fire_at, ctx.user.tz)
        decided = f", decided {timefmt.format_clock(r.decided_at, ctx.user.tz)}" if r.decided_at else ""
        outcome: str = r.state
        if r.state == "sent":
            outcome = f"delivery {r.delivery}" if r.delivery else f"sent as {r.fanout} DMs"
        reason = f" ({r.reason})" if r.reason else ""
        lines.append(f"- {at} `{r.key}` to {r.target}: **{outcome}**{reason}{decided}")
    return Reply.private("\n".join(lines))


async def _off(ctx: Context, args: str) -> Reply:
    await ctx.ports.reminders.set_muted(ctx.user.id, True, ctx.clock.now())
    return Reply.private("Personal reminders are off. `/idl remind on` turns them back on.")


async def _on(ctx: Context, args: str) -> Reply:
    await ctx.ports.reminders.set_muted(ctx.user.id, False, ctx.clock.now())
    return Reply.private("Personal reminders are on again.")


_SUBCOMMANDS: dict[str, Callable[[Context, str], Awaitable[Reply]]] = {
    "list": _list,
    "add": _add,
    "cancel": _cancel,
    "test": _test,
    "log": _log,
    "off": _off,
    "on": _on,
}
