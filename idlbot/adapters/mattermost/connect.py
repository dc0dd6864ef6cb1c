"""Getting the REST side going: a login that outlasts an outage, and channel lookups that
answer None for a name the team does not have.

The login retries forever because the bot is started by a service manager, often together
with Mattermost: a server that is not up yet (or restarting) is not a reason to crash. A
rejected token (401) is different, since only a person can fix it: it is logged at ERROR
on every try and retried slowly, so the log says what to fix without flooding.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

from mattermostautodriver.exceptions import ResourceNotFound

from idlbot.adapters.mattermost.rest import classify
from idlbot.backoff import backoff_delay
from idlbot.domain.chat import MattermostUser
from idlbot.domain.errors import Unavailable
from idlbot.ports.channels import ChannelCheck

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class LogsIn(Protocol):
    async def login(self) -> MattermostUser: ...


class FindsChannels(Protocol):
    async def channel_id(self, name: str) -> str: ...


class ChecksChannels(Protocol):
    async def lookup_channel(self, name: str) -> str: ...

    async def is_member(self, channel_id: str) -> bool: ...


CHANNEL_NAME = re.compile(r"[a-z0-9_-]{1,64}")
"""What Mattermost accepts as a team channel's name (model.IsValidChannelIdentifier):
anything else cannot exist, and must not go into a URL path (`../users/…`)."""


async def log_in(
    chat: LogsIn,
    *,
    backoff_base: float = 1.0,
    backoff_cap: float = 30.0,
    auth_retry: float = 60.0,
    sleep: Sleep = asyncio.sleep,
) -> MattermostUser:
    """`chat.login()` until it succeeds; the bot's own user."""
    attempt = 0
    while True:
        try:
            return await chat.login()
        except Exception as err:  # noqa: BLE001 - Mattermost down at start is retried, not fatal
            failure = classify(err)
        if failure.status == 401:
            log.error(
                "Mattermost REJECTED the bot token (401): fix IDLBOT_MATTERMOST_TOKEN; retrying in %.0f s",
                auth_retry,
                extra={"event": "login", "outcome": "auth_failed"},
            )
            await sleep(auth_retry)
            continue
        delay = backoff_delay(attempt, base=backoff_base, cap=backoff_cap)
        attempt += 1
        log.warning(
            "Mattermost login failed (%s); retrying in %.1f s",
            failure,
            delay,
            extra={"event": "login", "outcome": "retry"},
        )
        await sleep(delay)


async def channel_id_or_none(chat: FindsChannels, name: str) -> str | None:
    """The id of the team's channel `name`; None if the team has no such channel, which
    each caller reports in its own terms ("There is no channel ~x I can post to")."""
    try:
        return await chat.channel_id(name)
    except ResourceNotFound:
        return None


async def check_channel(chat: ChecksChannels, name: str) -> ChannelCheck:
    """The `ChannelChecker` port: what the server says of `name` now. A 404 is "no such
    channel" (also archived, or private without the bot); any other failure is an outage
    the caller reports as such (Unavailable), never as "unknown channel"."""
    if CHANNEL_NAME.fullmatch(name) is None:
        return ChannelCheck(None)
    try:
        channel_id = await chat.lookup_channel(name)
        member = await chat.is_member(channel_id)
    except ResourceNotFound:
        return ChannelCheck(None)
    except Exception as err:  # every other failure is "could not ask", said as such
        raise Unavailable(f"Mattermost: {classify(err)}") from err
    return ChannelCheck(channel_id, member)
