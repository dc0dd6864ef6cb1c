"""`rota`: the session-summary rota. Everyone sees the next picks and the history; staff
assign a writer or excuse a student; the writer asks another student to swap, who
accepts or declines.

The rules (who is picked, when, what counts as written) are `domain/rota.py`; the state
changes and their DMs are `services/rota.py`. This module reads the arguments and
phrases the reply.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from idlbot.commands.context import Context
from idlbot.commands.policy import require_role
from idlbot.commands.registry import CommandGroup, ForRole, UsageError
from idlbot.commands.reply import Reply
from idlbot.domain.errors import UserError
from idlbot.domain.roles import Role
from idlbot.domain.rota_text import DAY_FORMATS, class_day, day_label, render, who
from idlbot.domain.usernames import normalize_username

group = CommandGroup("Session summaries")


def _day(ctx: Context, text: str) -> date:
    today = ctx.clock.now().astimezone(ctx.course.tz).date()
    return class_day(text, today, ctx.ports.rota.classes())


def _two(args: str, usage: str) -> tuple[str, str]:
    parts = args.split()
    if len(parts) != 2:
        raise UserError(f"Use `/idl rota {usage}` (dates: {DAY_FORMATS}).")
    return parts[0], parts[1]


def _user(text: str, usage: str) -> str:
    if not text.startswith("@") or len(text) < 2:
        raise UserError(f"Name the student with @, e.g. `/idl rota {usage}`.")
    return normalize_username(text)


@group.command(
    "rota",
    summary="Who writes the session summaries: the next picks and the history; swap yours.",
    usage="rota [swap <date> @student | accept <date> | decline <date> | assign <date> @student | "
    "excuse @student <date>]",
    examples={
        "rota": "#### Session summaries",
        "rota swap 2018-10-24 @bob": "Swap asked:",
        "rota accept 2018-10-31": "Swap accepted: you write the summary of Wed 2018-10-31",
        "rota assign 2018-10-31 @alice": ForRole(Role.TUTOR, "Assigned:"),
        "rota excuse @alice 2018-10-24": ForRole(Role.TUTOR, "Excused:"),
    },
    needs=("rota",),
)
async def rota(ctx: Context, args: str) -> Reply:
    sub, _, rest = args.strip().partition(" ")
    handler = _SUBCOMMANDS.get(sub.lower())
    if handler is None:
        raise UsageError()
    if sub.lower() in ("assign", "excuse"):
        require_role(ctx, Role.TUTOR, f"rota {sub.lower()}")
    return await handler(ctx, rest.strip())


async def _show(ctx: Context, args: str) -> Reply:
    if args:
        raise UsageError()
    view = await ctx.ports.rota.view(ctx.clock.now())
    return Reply.private(render(view.upcoming, view.history, view.prefix))


async def _assign(ctx: Context, args: str) -> Reply:
    usage = "assign 2018-10-31 @alice"
    when, name = _two(args, usage)
    day, student = _day(ctx, when), _user(name, usage)
    done = await ctx.ports.rota.assign(day, student, by=ctx.user.username, now=ctx.clock.now())
    if done.note == "already":
        return Reply.private(f"{who(student)} already writes the summary of {day_label(day)}.")
    return Reply.private(
        f"Assigned: {who(student)} writes the summary of {day_label(day)} "
        f"(told by DM: {', '.join(who(t) for t in done.told) or 'nobody reachable'})."
    )


async def _excuse(ctx: Context, args: str) -> Reply:
    usage = "excuse @alice 2018-10-24"
    name, when = _two(args, usage)
    student, day = _user(name, usage), _day(ctx, when)
    done = await ctx.ports.rota.excuse(student, day, by=ctx.user.username, now=ctx.clock.now())
    text = f"Excused: {who(student)} is not picked for {day_label(day)}."
    if done.note == "nobody else":
        text += (
            " They were the writer, and nobody else can be picked: assign someone with `/idl rota assign`."
        )
    elif done.told and done.pick is not None:
        text += f" They were the writer; {who(done.pick.writer)} writes it now (both told by DM)."
    return Reply.private(text)


async def _swap(ctx: Context, args: str) -> Reply:
    usage = "swap 2018-10-24 @bob"
    when, name = _two(args, usage)
    day, other = _day(ctx, when), _user(name, usage)
    await ctx.ports.rota.swap(day, ctx.user.username, other, now=ctx.clock.now())
    return Reply.private(
        f"Swap asked: {who(other)} is asked by DM to write the summary of {day_label(day)} instead. "
        "It stays yours until they accept."
    )


def _answer(accept: bool) -> Callable[[Context, str], Awaitable[Reply]]:
    async def handler(ctx: Context, args: str) -> Reply:
        if not args or len(args.split()) != 1:
            verb = "accept" if accept else "decline"
            raise UserError(f"Use `/idl rota {verb} 2018-10-24` (dates: {DAY_FORMATS}).")
        day = _day(ctx, args)
        done = await ctx.ports.rota.answer(day, ctx.user.username, accept=accept, now=ctx.clock.now())
        asker = ", ".join(who(t) for t in done.told)
        if accept:
            return Reply.private(
                f"Swap accepted: you write the summary of {day_label(day)} instead of {asker} "
                f"(wiki page `{ctx.ports.rota.slug(day)}`)."
            )
        return Reply.private(f"Swap declined: {asker} still writes the summary of {day_label(day)}.")

    return handler


_SUBCOMMANDS: dict[str, Callable[[Context, str], Awaitable[Reply]]] = {
    "": _show,
    "assign": _assign,
    "excuse": _excuse,
    "swap": _swap,
    "accept": _answer(True),
    "decline": _answer(False),
}
