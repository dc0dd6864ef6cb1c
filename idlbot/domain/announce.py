"""Announcements: parsing `/idl announce …` and rendering the post.

Mass mentions are explicit: the body always goes through `defuse` (no mention, literal
Markdown), even when an instructor typed it, and `@all`/`@channel`/`@here` is added in front
only from `--notify`, which only instructors may give. So a pasted student question or
GitLab title inside an announcement can never page the whole course, and what the preview
shows is exactly what gets posted.

Options come first and the text is the rest, verbatim: announcements are prose ("don't",
"it's"), which shlex would reject as unbalanced quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, cast, get_args
from zoneinfo import ZoneInfo

from idlbot.domain import when
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import UserError
from idlbot.domain.timefmt import format_when

Notify = Literal["all", "channel", "here", "none"]
NOTIFY: tuple[str, ...] = get_args(Notify)
AnnouncementState = Literal["draft", "scheduled", "queued", "cancelled"]

ONCE_HINT = (
    "an announcement is posted once; for a message every week use "
    "`/idl remind add weekly tue 10:00 <channel> <text>`."
)
"""Why `--at` takes one time: an announcement is news (a room change, an outage) and is
confirmed after a preview; a message that repeats every week is a reminder, which staff
list, test and cancel with `/idl remind`. One way to do each keeps the two lists honest."""

MAX_TEXT = 12000  # Mattermost's post limit is 16383; leave room for the mention and quoting


@dataclass(frozen=True)
class AnnounceRequest:
    """What the user asked for; `channel` is as typed (a purpose or a channel name), or None."""

    text: str
    channel: str | None = None
    at: datetime | None = None
    notify: Notify = "none"
    yes: bool = False


@dataclass(frozen=True)
class Announcement:
    """A stored announcement. `text` is the raw body; `render` makes the post from it, so
    the outbox always gets the same message for the same row."""

    id: int
    state: AnnouncementState
    channel_id: str
    channel_name: str
    text: str
    notify: Notify
    post_at: datetime | None
    created_by: str
    created_by_id: str
    created_at: datetime

    @property
    def key(self) -> str:
        """The outbox key: one post per announcement, whoever enqueues it first."""
        return f"announce:{self.id}"

    @property
    def message(self) -> str:
        return render_announcement(self.text, self.notify)


_OPTION = re.compile(r"--(?P<name>[a-z]+)(?:=(?P<value>\S+))?(?=\s|$)")


def _value(rest: str) -> tuple[str, str]:
    """The next value: a quoted string or one word; (value, remaining text)."""
    rest = rest.lstrip()
    if rest[:1] in ('"', "'"):
        end = rest.find(rest[0], 1)
        if end < 0:
            raise UserError("Close the quotes of the option value.")
        return rest[1:end], rest[end + 1 :]
    word, _, tail = rest.partition(" ")
    if not word:
        raise UserError("An option needs a value, e.g. `--channel town-square`.")
    return word, tail


def parse_request(args: str, *, now: datetime, tz: ZoneInfo, term_end: date | None = None) -> AnnounceRequest:
    """`[--channel c] [--at "fri 16:00"] [--notify all|channel|here|none] [--yes] <text>`.

    `--at` takes a quoted time or reads the longest time at its position (`--at fri 16:00
    Text…` works too), with the one-off formats of `when.parse`; past times, times after
    `when.latest` (a year after `term_end`) and weekly forms (`ONCE_HINT`) are refused there."""
    rest = args.strip()
    channel: str | None = None
    at: datetime | None = None
    notify: Notify = "none"
    yes = False
    while rest.startswith("--"):
        m = _OPTION.match(rest)
        if m is None:
            break
        name, inline = m["name"], m["value"]
        rest = rest[m.end() :]
        if name == "yes":
            yes = True
        elif name == "at":
            if inline is not None or rest.lstrip()[:1] in ('"', "'"):
                value, rest = (inline, rest) if inline is not None else _value(rest)
                at = when.parse(
                    value, now=now, tz=tz, term_end=term_end, weekly=False, once_hint=ONCE_HINT
                ).first
            else:
                found, rest = when.parse_prefix(
                    rest, now=now, tz=tz, term_end=term_end, weekly=False, once_hint=ONCE_HINT
                )
                at = found.first
        elif name in ("channel", "notify"):
            value, rest = (inline, rest) if inline is not None else _value(rest)
            if name == "channel":
                channel = value.removeprefix("~")
            elif value.lower() in NOTIFY:
                notify = cast(Notify, value.lower())
            else:
                raise UserError("`--notify` is one of all, channel, here or none.")
        else:
            raise UserError(f"I don't know the option `--{name}`: use --channel, --at, --notify or --yes.")
        rest = rest.strip()
    if not rest:
        raise UserError('Give the text to announce, e.g. `/idl announce --at "fri 16:00" Lab is closed.`')
    if len(rest) > MAX_TEXT:
        raise UserError(f"That text is {len(rest)} characters; announcements take at most {MAX_TEXT}.")
    return AnnounceRequest(text=rest, channel=channel, at=at, notify=notify, yes=yes)


def render_announcement(text: str, notify: Notify) -> str:
    """The post: `@all ` (etc.) only when asked for, then the defused body."""
    body = defuse(text, inline=False)
    return body if notify == "none" else f"@{notify} {body}"


def render_preview(a: Announcement, *, tz: ZoneInfo, now: datetime) -> str:
    """What only the author sees before confirming: where, when, who gets notified, and
    the post exactly as it will appear (quoted)."""
    when_text = "now" if a.post_at is None else format_when(a.post_at, tz, now)
    who = "nobody extra" if a.notify == "none" else f"@{a.notify}"
    quoted = "\n".join(f"> {line}" for line in a.message.splitlines())
    return (
        f"Preview of announcement {a.id} to ~{defuse(a.channel_name)}, posted {when_text}, "
        f"notifying {who}:\n{quoted}\n"
        f"Press **Post** to confirm, or type `/idl announce confirm {a.id}`."
    )


def render_list(items: list[Announcement], *, tz: ZoneInfo, now: datetime) -> str:
    if not items:
        return "No announcements are scheduled."
    lines = ["Scheduled announcements:"]
    for a in items:
        at = format_when(a.post_at, tz, now) if a.post_at is not None else "now"
        head = defuse(" ".join(a.text.split())[:60])
        lines.append(f"- **{a.id}** {at} to ~{defuse(a.channel_name)} (@{a.created_by}): {head}")
    lines.append("`/idl announce cancel <id>` cancels one.")
    return "\n".join(lines)
