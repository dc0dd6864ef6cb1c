"""`announce`: instructors (and tutors, in their group's channel) post announcements.

Nothing is posted straight from the command: it stores a draft and answers with an
ephemeral preview of the post exactly as it will look, with **Post** / **Cancel** buttons;
`--yes` confirms at once. The mass mention comes only from `--notify` (the body is always
defused, see domain/announce.py). `announce list` and `announce cancel <id>` manage
scheduled ones; the whole argument must be exactly that, so a text such as "list of
topics" is still an announcement.
"""

from __future__ import annotations

import re

from idlbot.commands.access import tutor_groups
from idlbot.commands.context import Context
from idlbot.commands.registry import CommandGroup, ForRole
from idlbot.commands.reply import Reply
from idlbot.domain.announce import Announcement, AnnounceRequest, parse_request, render_list, render_preview
from idlbot.domain.errors import Forbidden, UserError
from idlbot.domain.roles import Role
from idlbot.domain.timefmt import defuse_mentions, format_when
from idlbot.ports.announce import Announcements

group = CommandGroup("Announcements")

DEFAULT_PURPOSE = "announcements"
_MANAGE = re.compile(r"(?P<sub>cancel|confirm)\s+#?(?P<id>\d+)", re.IGNORECASE)


def _channel_for(ctx: Context, port: Announcements, req: AnnounceRequest) -> str:
    """The channel name to post to. Instructors: any channel, by default the
    announcements channel. Tutors: only the channel of a group they tutor."""
    if ctx.user.role is Role.INSTRUCTOR:
        return port.channel_name(req.channel or DEFAULT_PURPOSE)
    mine = sorted(
        {g.channel for g in ctx.course.groups if g.id in tutor_groups(ctx) and g.channel is not None}
    )
    if req.notify == "all":
        raise Forbidden("Only instructors can notify @all; use `--notify channel` in your group channel.")
    if req.channel is None:
        if len(mine) != 1:
            raise UserError("Say which of your group channels: `--channel <name>`.")
        return mine[0]
    name = port.channel_name(req.channel)
    if name not in mine:
        allowed = ", ".join(f"~{c}" for c in mine) or "none"
        raise Forbidden(f"Tutors can announce only in their exercise group's channel ({allowed}).")
    return name


@group.command(
    "announce",
    summary="Post an announcement, now or later, after a preview you confirm.",
    usage=(
        'announce [--channel c] [--at "fri 16:00"] [--notify all|channel|here|none] [--yes] <text>'
        " | announce list | announce cancel <id>"
    ),
    examples={
        "announce --notify channel Room change: today's session is in G29-335.": (
            "Preview of announcement 2 to ~exercise-group-1, posted now, notifying @channel:"
        ),
        'announce --at "fri 16:00" --notify all The cluster is down on Saturday morning.': ForRole(
            Role.INSTRUCTOR, "Preview of announcement 2 to ~town-square, posted Fri 26 Oct 2018, 16:00 CEST"
        ),
        "announce list": ForRole(Role.INSTRUCTOR, "Scheduled announcements:"),
    },
    role=Role.TUTOR,
    needs=("announcements",),
)
async def announce(ctx: Context, args: str) -> Reply:
    port = ctx.ports.announcements
    now = ctx.clock.now()
    text = args.strip()
    if text.lower() == "list":
        items = await port.scheduled()
        if ctx.user.role is not Role.INSTRUCTOR:
            items = [a for a in items if a.created_by_id == ctx.user.id]
        return Reply.private(render_list(items, tz=ctx.user.tz, now=now))
    manage = _MANAGE.fullmatch(text)
    if manage is not None:
        return await _manage(ctx, port, manage["sub"].lower(), int(manage["id"]))
    req = parse_request(text, now=now, tz=ctx.course.tz)
    channel = _channel_for(ctx, port, req)
    draft = await port.prepare(
        channel_name=channel, text=req.text, notify=req.notify, post_at=req.at,
        by=ctx.user.username, by_id=ctx.user.id, now=now,
    )  # fmt: skip
    if req.yes:
        return _confirmed(ctx, await port.confirm(draft.announcement.id, by_id=ctx.user.id, now=now))
    preview = render_preview(draft.announcement, tz=ctx.user.tz, now=now)
    return Reply(text=preview, ephemeral=True, props=dict(draft.props))


def _confirmed(ctx: Context, a: Announcement) -> Reply:
    where = f"~{defuse_mentions(a.channel_name)}"
    if a.state == "scheduled" and a.post_at is not None:
        when_text = format_when(a.post_at, ctx.user.tz, ctx.clock.now())
        return Reply.private(f"Announcement {a.id} is scheduled for {when_text} in {where}.")
    return Reply.private(f"Announcement {a.id} is on its way to {where}.")


async def _manage(ctx: Context, port: Announcements, sub: str, announcement_id: int) -> Reply:
    now = ctx.clock.now()
    if sub == "confirm":
        return _confirmed(ctx, await port.confirm(announcement_id, by_id=ctx.user.id, now=now))
    if ctx.user.role is not Role.INSTRUCTOR:
        mine = {a.id for a in await port.scheduled() if a.created_by_id == ctx.user.id}
        if announcement_id not in mine:
            raise Forbidden("Tutors can cancel only their own scheduled announcements.")
    a = await port.cancel(announcement_id, now=now)
    return Reply.private(f"Announcement {a.id} to ~{defuse_mentions(a.channel_name)} is cancelled.")
