"""`announce`: instructors (and tutors, in their group's channel) post announcements.

Nothing is posted straight from the command: it stores a draft and answers with an
ephemeral preview of the post exactly as it will look, with **Post** / **Cancel** buttons;
`--yes` confirms at once. The mass mention comes only from `--notify` (the body is always
defused, see domain/announce.py). `--at` takes one time: a weekly message is a reminder
(`remind add weekly …`), see `domain.announce.ONCE_HINT`. `announce list` and `announce cancel <id>` manage
scheduled ones; the whole argument must be exactly that, so a text such as "list of
topics" is still an announcement.
"""

from __future__ import annotations

import re

from idlbot.commands.context import Context
from idlbot.commands.policy import (
    ChannelScope,
    CreatedScope,
    allows,
    group_channels,
    require,
    require_mass_mention,
)
from idlbot.commands.registry import CommandGroup, ForRole
from idlbot.commands.reply import Reply
from idlbot.domain.announce import Announcement, AnnounceRequest, parse_request, render_list, render_preview
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import UserError
from idlbot.domain.numbers import parse_id
from idlbot.domain.roles import Role
from idlbot.domain.timefmt import format_when
from idlbot.ports.announce import Announcements

group = CommandGroup("Announcements")

DEFAULT_PURPOSE = "announcements"
_MANAGE = re.compile(r"(?P<sub>cancel|confirm)\s+#?(?P<id>\d+)", re.IGNORECASE)


def _channel_for(ctx: Context, port: Announcements, req: AnnounceRequest) -> str:
    """The channel name to post to, if the user may (see policy.py). Without `--channel`:
    the announcements channel for instructors, a tutor's one group channel for tutors."""
    require_mass_mention(ctx, req.notify)
    if req.channel is not None:
        name = port.channel_name(req.channel)
    elif ctx.user.role is Role.INSTRUCTOR:
        name = port.channel_name(DEFAULT_PURPOSE)
    else:
        mine = group_channels(ctx.user, ctx.course)
        if len(mine) != 1:
            raise UserError("Say which of your group channels: `--channel <name>`.")
        name = mine[0]
    require(ctx, ChannelScope(name), "announce")
    return name


def _created(a: Announcement) -> CreatedScope:
    return CreatedScope("announcement", str(a.id), a.created_by, a.created_by_id)


@group.command(
    "announce",
    summary="Post an announcement, now or at one later time, after a preview you confirm.",
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
        items = [a for a in await port.scheduled() if allows(ctx, _created(a))]
        return Reply.private(render_list(items, tz=ctx.user.tz, now=now))
    manage = _MANAGE.fullmatch(text)
    if manage is not None:
        announcement_id = parse_id(manage["id"])
        if announcement_id is None:
            raise UserError("There is no announcement with that number; `/idl announce list` shows them.")
        return await _manage(ctx, port, manage["sub"].lower(), announcement_id)
    req = parse_request(text, now=now, tz=ctx.course.tz, term_end=ctx.course.end)
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
    where = f"~{defuse(a.channel_name)}"
    if a.state == "scheduled" and a.post_at is not None:
        when_text = format_when(a.post_at, ctx.user.tz, ctx.clock.now())
        return Reply.private(f"Announcement {a.id} is scheduled for {when_text} in {where}.")
    return Reply.private(f"Announcement {a.id} is on its way to {where}.")


async def _manage(ctx: Context, port: Announcements, sub: str, announcement_id: int) -> Reply:
    now = ctx.clock.now()
    if sub == "confirm":
        return _confirmed(ctx, await port.confirm(announcement_id, by_id=ctx.user.id, now=now))
    if ctx.user.role is not Role.INSTRUCTOR:
        # a tutor sees only scheduled announcements (drafts end by their buttons), and
        # is told nothing about ids that are not among them
        found = next((a for a in await port.scheduled() if a.id == announcement_id), None)
        if found is None:
            raise UserError(f"You have no scheduled announcement {announcement_id}; `/idl announce list`.")
        require(ctx, _created(found), "cancel")
    a = await port.cancel(announcement_id, now=now)
    return Reply.private(f"Announcement {a.id} to ~{defuse(a.channel_name)} is cancelled.")
