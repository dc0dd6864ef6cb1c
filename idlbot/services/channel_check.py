"""`postable_channel`: the one place that turns a channel check into the author's answer.

Reminders and announcements both name a channel at creation and post later, so both refuse
a channel the bot cannot post to at once, with the same words: which channel (defused: it
was typed by a user), and how to name one.

When Mattermost cannot be asked (an outage of its API while the slash command still got
through, a timeout), the command is refused too, saying so and what to do; nothing is
stored. Why not accept and verify later: an instructor who types a reminder expects "set"
to mean it will be posted. Accepting unchecked would turn a typo into a failure at firing
time, perhaps at 06:00 on a Tuesday, long after the author left; the failure notice would
tell them, but too late for the students. Outages of the API while commands arrive are
short, so "try again in a minute" costs the author one retype, and their text is still
in Mattermost's input history.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from idlbot.domain.defuse import defuse
from idlbot.domain.errors import Unavailable, UserError
from idlbot.ports.channels import ChannelCheck, ChannelChecker

log = logging.getLogger(__name__)


class ChannelRefused(UserError):
    """The channel cannot be posted to now; the message says why and what to do."""


def how_to_name(purposes: Iterable[str]) -> str:
    """The hint after a refused name: URL names, and the purposes of the course config."""
    named = ", ".join(f"`{p}`" for p in sorted(purposes))
    also = f", or one of the course's channel purposes: {named}" if named else ""
    return (
        "Name a channel by the last part of its link (`…/channels/exercise-group-1` is "
        f"`exercise-group-1`){also}. A private channel must have me as a member."
    )


async def postable_channel(check: ChannelChecker, name: str, *, purposes: Iterable[str] = ()) -> str:
    """The id of channel `name` if the bot can post there now; else ChannelRefused."""
    shown = f"~{defuse(name)}"
    try:
        found = await check(name)
    except Unavailable as err:
        log.warning("channel %r could not be checked: %s", name, err)
        raise ChannelRefused(
            f"I could not check {shown} with Mattermost just now ({defuse(str(err))}), so nothing "
            "was saved. Please try again in a minute; `/idl health` shows whether I am connected."
        ) from None
    if found.channel_id is None:
        raise ChannelRefused(f"There is no channel {shown} I can post to. {how_to_name(purposes)}")
    if not found.member:
        raise ChannelRefused(
            f"I am not a member of {shown}, so Mattermost would refuse my posts there. "
            "Add me to the channel (its menu: Add Members), then try again."
        )
    return found.channel_id


def from_resolver(resolve: Callable[[str], Awaitable[str | None]]) -> ChannelChecker:
    """A check from a plain name → id resolver (None: unknown), for setups without the
    Mattermost adapter's fresh check (unit tests on fakes)."""

    async def check(name: str) -> ChannelCheck:
        return ChannelCheck(await resolve(name))

    return check
