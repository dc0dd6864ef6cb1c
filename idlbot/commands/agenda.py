"""`agenda`: the ranked questions for the next class; instructors preview, freeze, skip
and mark questions done.

Everyone sees the same order GitLab shows (domain/agenda.py says why); the freeze and
its post, wiki page and labels are the service's (services/agenda.py). The command is
`slow`: every subcommand may re-read GitLab (one request per page of questions).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from idlbot.commands.context import Context
from idlbot.commands.policy import require_role
from idlbot.commands.registry import CommandGroup, ForRole, UsageError
from idlbot.commands.reply import Reply
from idlbot.domain import agenda as dom
from idlbot.domain.errors import UserError
from idlbot.domain.numbers import parse_id
from idlbot.domain.roles import Role
from idlbot.domain.timefmt import format_clock

group = CommandGroup("Class agenda")


def _issue(args: str, sub: str) -> int:
    found = parse_id(args.strip().removeprefix("#"))
    if found is None:
        raise UserError(f"Give the question's issue number, e.g. `/idl agenda {sub} #12`.")
    return found


@group.command(
    "agenda",
    summary="The questions for the next class, ranked by upvotes, and the time left until the cutoff.",
    usage="agenda [preview | freeze | skip #<issue> | done #<issue>]",
    examples={
        "agenda": "#### Questions for Wednesday 24 October 2018: top 4 of 4",
        "agenda preview": ForRole(Role.INSTRUCTOR, "_Preview: nothing is posted or stored._"),
        "agenda freeze": ForRole(Role.INSTRUCTOR, "Frozen: the agenda for 2018-10-24 has 4 questions"),
        "agenda skip #12": ForRole(Role.INSTRUCTOR, "#12 is left out of the agenda for 2018-10-24."),
    },
    slow=True,
    needs=("agenda",),
)
async def agenda(ctx: Context, args: str) -> Reply:
    sub, _, rest = args.strip().partition(" ")
    handler = _SUBCOMMANDS.get(sub.lower())
    if handler is None:
        raise UsageError()
    if sub:
        require_role(ctx, Role.INSTRUCTOR, f"agenda {sub.lower()}")
    return await handler(ctx, rest.strip())


async def _show(ctx: Context, args: str) -> Reply:
    now = ctx.clock.now()
    view = await ctx.ports.agenda.view(now)
    text = dom.render_live(
        view.questions, slot=view.slot, top=view.top, now=now, tz=ctx.user.tz, frozen=view.frozen
    )
    return Reply.private(text)


async def _preview(ctx: Context, args: str) -> Reply:
    preview = await ctx.ports.agenda.preview(ctx.clock.now())
    if preview is None:
        raise UserError("There is no class left this term.")
    body = dom.render_frozen(preview, ctx.user.tz)
    return Reply.private(f"_Preview: nothing is posted or stored._\n\n{body}")


async def _freeze(ctx: Context, args: str) -> Reply:
    result = await ctx.ports.agenda.freeze(ctx.clock.now(), by=ctx.user.username)
    if result is None:
        raise UserError("There is no class left this term.")
    record = result.record
    what = "Frozen" if record.revision == 1 else f"Rebuilt (revision {record.revision})"
    day = record.slot.key
    lines = [
        f"{what}: the agenda for {day} has {len(record.agenda.items)} questions "
        f"({record.agenda.carried} carried over), as of {format_clock(record.frozen_at, ctx.user.tz)}.",
        f"Post in the questions channel, wiki page `{dom.wiki_title(record.slot.date)}`, "
        f"label `{dom.class_label(record.slot.date)}`.",
    ]
    if result.problems:
        lines.append("Not finished yet (I retry on my own): " + "; ".join(result.problems))
    return Reply.private("\n".join(lines))


async def _skip(ctx: Context, args: str) -> Reply:
    iid = _issue(args, "skip")
    slot, new, frozen = await ctx.ports.agenda.skip(iid, ctx.clock.now(), by=ctx.user.username)
    said = "is left out of" if new else "was already left out of"
    text = f"#{iid} {said} the agenda for {slot.key}."
    if frozen:
        text += " That agenda is already frozen: `/idl agenda freeze` rebuilds it without #" + str(iid) + "."
    return Reply.private(text)


async def _done(ctx: Context, args: str) -> Reply:
    iid = _issue(args, "done")
    new, problem = await ctx.ports.agenda.done(iid, ctx.clock.now(), by=ctx.user.username)
    text = f"#{iid} is marked as discussed; it will not come back on an agenda."
    if not new:
        text = f"#{iid} was already marked as discussed."
    if problem:
        text += f" GitLab did not take the change ({problem}); run the command again later."
    return Reply.private(text)


_SUBCOMMANDS: dict[str, Callable[[Context, str], Awaitable[Reply]]] = {
    "": _show,
    "preview": _preview,
    "freeze": _freeze,
    "skip": _skip,
    "done": _done,
}
