"""`remind`: staff manage reminders (list, add, cancel, test, log); everyone can mute
their personal nudges (off, on).

Parsing of "when" lives in domain/when.py and planning in domain/reminders.py; this
module reads the arguments, asks policy.py who may do what, and phrases the reply.
Times are shown in the asking user's zone, with the zone named.

Tutors add reminders only to their groups' channels, and cancel or test only their own.
They list and read the log of every reminder, though: all of it is posted in course
channels anyway, and a tutor planning one must see what the bot already says and when,
so as not to say it twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from idlbot.commands.context import Context
from idlbot.commands.policy import ChannelScope, CreatedScope, require, require_role
from idlbot.commands.registry import CommandGroup, ForRole, UsageError
from idlbot.commands.reply import Reply
from idlbot.domain import timefmt, when
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import NotFound, UserError
from idlbot.domain.numbers import parse_id
from idlbot.domain.reminders import CustomReminder
from idlbot.domain.roles import Role

group = CommandGroup("Reminders")

STAFF = Role.TUTOR
MAX_LOG = 50


@group.command(
    "remind",
    summary="Reminders: staff list, add, cancel, test and review them; anyone mutes their nudges.",
    usage="remind list | add <when> <channel> <text> | cancel <id> | test <id> | log [n] | off | on",
    examples={
        "remind off": "Personal reminders are off. `/idl remind on` turns them back on.",
        "remind on": "Personal reminders are on again.",
        "remind list": ForRole(STAFF, "Next 3 reminders (times in Europe/Berlin):"),
        "remind add wed 18:00 group1 Bring your laptop tomorrow.": ForRole(
            STAFF, "Reminder 1 set: Wed 24 Oct 2018, 18:00 CEST (in 2 days) to ~group1."
        ),
        "remind add tue 10:00 questions Two hours left to file questions.": ForRole(
            Role.INSTRUCTOR, "Reminder 1 set: Tue 23 Oct 2018, 10:00 CEST (tomorrow) to ~questions."
        ),
        "remind add weekly tue 10:00 questions Two hours left to file questions.": ForRole(
            Role.INSTRUCTOR, "Weekly reminder 1 set: Tue 10:00 CEST to ~questions"
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
        require_role(ctx, STAFF, f"remind {sub.lower()}")
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
    spec, rest = when.parse_prefix(args, now=now, tz=ctx.course.tz, term_end=ctx.course.end)
    channel, _, text = rest.partition(" ")
    channel = channel.removeprefix("~").lower()
    if not channel or not text.strip():
        raise UserError(
            "Give a channel and the text after the time, e.g. `remind add in 2h questions Hi all`."
        )
    require(ctx, ChannelScope(ctx.ports.reminders.channel_name(channel)), "remind")
    reminder = await ctx.ports.reminders.add(
        kind=spec.kind,
        first=spec.first,
        channel=channel,
        text=text.strip(),
        created_by=ctx.user.username,
        created_by_id=ctx.user.id,
        now=now,
    )
    tz = ctx.user.tz
    first = timefmt.format_when(reminder.first, tz, now)
    if reminder.kind == "weekly":
        local = reminder.first.astimezone(tz)
        return Reply.private(
            f"Weekly reminder {reminder.id} set: {local:%a %H:%M} {local.tzname()} to ~{defuse(channel)}, "
            f"first {first}."
        )
    return Reply.private(f"Reminder {reminder.id} set: {first} to ~{defuse(channel)}.")


def _id(args: str, sub: str) -> int:
    found = parse_id(args.strip().removeprefix("#"))
    if found is None:
        raise UserError(f"Give the reminder's number from `/idl remind list`, e.g. `/idl remind {sub} 3`.")
    return found


def _created(reminder: CustomReminder) -> CreatedScope:
    return CreatedScope("reminder", str(reminder.id), reminder.created_by, reminder.created_by_id)


async def _cancel(ctx: Context, args: str) -> Reply:
    reminder_id = _id(args, "cancel")
    port = ctx.ports.reminders
    missing = (
        f"There is no reminder {reminder_id}; `/idl remind list` shows their numbers. "
        "Reminders from the course config are changed in the config file."
    )
    found = await port.custom(reminder_id)
    if found is None:
        raise NotFound(missing)
    require(ctx, _created(found), "cancel")
    # said plainly: "cancelled" a second time would hide a mistyped number
    if found.cancelled or await port.cancel(reminder_id) is None:
        return Reply.private(
            f"Reminder {reminder_id} is already cancelled; `/idl remind list` shows the others."
        )
    return Reply.private(f"Reminder {reminder_id} cancelled.")


async def _test(ctx: Context, args: str) -> Reply:
    ident = args.strip().removeprefix("#")
    if not ident:
        raise UserError("Give a reminder number or key from `/idl remind list`, e.g. `/idl remind test 3`.")
    found = await ctx.ports.reminders.preview(ident, ctx.clock.now())
    if found is None:
        raise NotFound(f"There is no reminder “{defuse(ident)}”.")
    custom = await ctx.ports.reminders.custom(found.custom_id) if found.custom_id is not None else None
    if custom is not None:
        require(ctx, _created(custom), "test")
    else:  # a reminder of the course config: the instructors'
        require(ctx, CreatedScope("reminder", f"`{found.key}`", None, None), "test")
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
        reason = f" ({defuse(r.reason)})" if r.reason else ""  # may name a channel someone typed
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
