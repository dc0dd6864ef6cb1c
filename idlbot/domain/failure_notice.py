"""The DM that tells an author their reminder or announcement could not be posted.

Pure text: what failed, when (course zone, named), Mattermost's reason in words an
instructor understands, and what to do now. Everything that came from a user or from the
server (channel names, the text, the error) is defused: the notice goes to one person and
must not notify or link anyone else.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from idlbot.domain.announce import Announcement
from idlbot.domain.defuse import defuse
from idlbot.domain.reminders import CustomReminder
from idlbot.domain.timefmt import format_clock

QUOTE_CHARS = 300
ERROR_CHARS = 200


def explain(error: str) -> str:
    """Mattermost's refusal as a cause the author can act on."""
    if "can_not_post_to_deleted" in error:
        return "The channel has been archived."
    if error.startswith("403"):
        return "Mattermost no longer lets me post there: I was probably removed from the channel."
    if error.startswith("no channel"):
        return "I cannot find the channel any more: it was deleted, archived, or made private without me."
    if error.startswith("404"):
        return "Mattermost no longer knows the channel: it was probably deleted."
    return "Mattermost refused the post."


def _quote(text: str) -> str:
    short = text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"
    return "\n".join(f"> {line}" for line in defuse(short, inline=False).splitlines() or [""])


def _reason(error: str) -> str:
    return defuse(error[:ERROR_CHARS])


def reminder_notice(reminder: CustomReminder, channel: str, error: str, at: datetime, tz: ZoneInfo) -> str:
    if reminder.kind == "weekly" and not reminder.cancelled:
        todo = (
            f"It repeats weekly and will fail again: `/idl remind cancel {reminder.id}`, "
            "then add it to a channel I can post to."
        )
    else:
        todo = "To send it after all, add it again (`/idl remind add …`) to a channel I can post to."
    return (
        f"Your reminder {reminder.id} to ~{defuse(channel)} could not be posted "
        f"({format_clock(at, tz)}). {explain(error)} {todo}\n"
        f"Mattermost said: {_reason(error)}\n\n{_quote(reminder.text)}"
    )


def announcement_notice(a: Announcement, error: str, at: datetime, tz: ZoneInfo) -> str:
    return (
        f"Your announcement {a.id} to ~{defuse(a.channel_name)} could not be posted "
        f"({format_clock(at, tz)}). {explain(error)} To post it after all: "
        "`/idl announce --channel <channel> <text>`.\n"
        f"Mattermost said: {_reason(error)}\n\n{_quote(a.text)}"
    )
