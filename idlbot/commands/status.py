"""`status`, `overview`, `export`: where students stand against the exam rules.

`status` is why students open the bot at all: it is private (ephemeral, or a DM), and
each number comes with the records behind it. The rule math is domain/qualification.py;
these commands only fetch the ledger, check who may see it and deliver the text. The
overview and the export contain other students' data, so they go to the asking staff
member's DM, never to a channel."""

from __future__ import annotations

from idlbot.commands.access import split_args
from idlbot.commands.context import Context
from idlbot.commands.policy import GroupScope, require, target_ledger, tutored_ids
from idlbot.commands.registry import CommandGroup, ForRole
from idlbot.commands.reply import Reply
from idlbot.domain import overview as ov
from idlbot.domain.attachment import Attachment
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import UserError
from idlbot.domain.ledger import StudentLedger
from idlbot.domain.person import YOU, about
from idlbot.domain.qualification import evaluate
from idlbot.domain.qualification_render import kept_status
from idlbot.domain.roles import Role
from idlbot.domain.usernames import normalize_username
from idlbot.ports.chart import ChartUnavailable
from idlbot.slices import in_slices

group = CommandGroup("Exam qualification")


@group.command(
    "status",
    summary="Where you stand against each exam rule, and how many more misses you can afford.",
    usage="status [@student]",
    examples={
        "status": "#### Exam qualification: you",
        "status @alice": ForRole(Role.TUTOR, "#### Exam qualification: @\u200balice"),
    },
    needs=("qualification",),
)
async def status(ctx: Context, args: str) -> Reply:
    words = split_args(args)
    if not words and ctx.user.role is not Role.STUDENT:
        raise UserError("Staff have no status of their own: `/idl status @student`, or `/idl overview`.")
    name = words[0] if words else ctx.user.username
    ledger = await target_ledger(ctx, name)  # one read: the roster entry comes with it
    student = ledger.student
    now = ctx.clock.now()
    own = student.mattermost == normalize_username(ctx.user.username)
    person = YOU if own else about(student.mattermost)  # staff read "alice has", not "you have"
    standing = evaluate(ledger, ctx.course, now=now, person=person)
    label = "you" if own else f"@{student.mattermost}"
    return Reply.private(kept_status(standing, label, tz=ctx.user.tz, now=now, person=person))


async def _visible_ledgers(ctx: Context, group_id: str | None) -> tuple[list[StudentLedger], str]:
    """One group's ledgers (if the user reaches it), else all the user reaches: the whole
    course for instructors, their groups for tutors."""
    port = ctx.ports.qualification
    if group_id is not None:
        require(ctx, GroupScope(group_id), "see the overview of")
    if ctx.user.role is Role.INSTRUCTOR:
        if group_id is not None and ctx.course.group(group_id) is None:
            raise UserError(f"There is no exercise group “{defuse(group_id)}”.")
        ledgers = await port.all_ledgers(group_id)
        return ledgers, (f"exercise group {group_id}" if group_id else "the whole course")
    wanted = [group_id] if group_id else sorted(tutored_ids(ctx.user, ctx.course))
    ledgers = [ledger for g in wanted for ledger in await port.all_ledgers(g)]
    return ledgers, "exercise group " + ", ".join(wanted) if wanted else "no exercise group"


@group.command(
    "overview",
    summary="Counts per rule and the at-risk list, with a chart, sent to your DM.",
    usage="overview [group]",
    examples={
        "overview": "The overview of exercise group g1 (1 students) is on its way to your DM.",
        "overview g2": ForRole(
            Role.INSTRUCTOR, "The overview of exercise group g2 (1 students) is on its way to your DM."
        ),
    },
    role=Role.TUTOR,
    needs=("qualification", "outbox", "chart"),
)
async def overview(ctx: Context, args: str) -> Reply:
    words = split_args(args)
    ledgers, scope = await _visible_ledgers(ctx, words[0].lower() if words else None)
    now = ctx.clock.now()
    chosen = sorted(ledgers, key=lambda lg: lg.student.mattermost)
    pairs = [(lg, evaluate(lg, ctx.course, now=now)) async for lg in in_slices(chosen)]
    result = ov.summarize(pairs, ctx.course, now=now)
    title = f"Qualification overview: {scope}, {now.astimezone(ctx.user.tz):%a %d %b %Y %H:%M %Z}"
    text = ov.render_overview(result, title=title)
    files: list[Attachment] = []
    missing = ""
    try:
        png = await ctx.ports.chart.render(result, title=scope)
        files.append(Attachment("overview.png", "image/png", png))
    except ChartUnavailable as err:  # the counts are still worth sending; say why the picture is not
        missing = f" It comes without the chart: {err}."
    key = f"overview:{ctx.user.id}:{now.isoformat()}"
    await ctx.ports.outbox.enqueue(key=key, message=text, now=now, dm_user_id=ctx.user.id, files=files)
    return Reply.private(
        f"The overview of {scope} ({len(ledgers)} students) is on its way to your DM.{missing}"
    )


@group.command(
    "export",
    summary="The whole ledger as a CSV file, sent to your DM.",
    usage="export",
    examples={"export": "`ledger-2018-10-22-0900.csv` (2 students) is on its way to your DM."},
    role=Role.INSTRUCTOR,
    needs=("qualification", "outbox"),
)
async def export(ctx: Context, args: str) -> Reply:
    ledgers = await ctx.ports.qualification.all_ledgers()
    now = ctx.clock.now()
    csv_text = ov.ledger_csv(ledgers, ctx.course, now=now)
    name = f"ledger-{now.astimezone(ctx.course.tz):%Y-%m-%d-%H%M}.csv"
    await ctx.ports.outbox.enqueue(
        key=f"export:{ctx.user.id}:{now.isoformat()}",
        message=f"The qualification ledger of {len(ledgers)} students, as of {name[7:-4]}.",
        now=now,
        dm_user_id=ctx.user.id,
        files=[Attachment(name, "text/csv", csv_text.encode())],
    )
    return Reply.private(f"`{name}` ({len(ledgers)} students) is on its way to your DM.")
