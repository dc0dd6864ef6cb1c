"""`idlbot setup-mattermost`: create or update the /idl slash command through the API.

Idempotent: run it again after changing `server.public_url` and the existing command is
updated in place, keeping its token (a new token would break the running bot)."""

from __future__ import annotations

from typing import Any

import httpx
from mattermostautodriver.exceptions import (
    InvalidMattermostError,
    MattermostError,
    NoAccessTokenProvided,
    NotEnoughPermissions,
    ResourceNotFound,
)

from idlbot.adapters.mattermost.rest import MattermostChat
from idlbot.commands.registry import Registry
from idlbot.domain.errors import OperatorError

TRIGGER = "idl"


def command_spec(team_id: str, public_url: str, registry: Registry) -> dict[str, Any]:
    names = " | ".join(c.name for c in registry.commands())
    return {
        "team_id": team_id,
        "trigger": TRIGGER,
        "method": "P",
        "url": public_url.rstrip("/") + "/mattermost/command",
        "display_name": "idlbot",
        "description": "Course bot: deadlines, your exam qualification status, announcements.",
        "auto_complete": True,
        "auto_complete_desc": "Course bot. Try /idl help.",
        "auto_complete_hint": f"[{names}]",
        "username": "idlbot",
    }


async def setup_command(
    chat: MattermostChat, public_url: str, registry: Registry
) -> tuple[str, dict[str, Any]]:
    """Returns ("created" | "updated", the command as the server has it)."""
    spec = command_spec(chat.team_id, public_url, registry)
    for existing in await chat.list_commands():
        if existing.get("trigger") == TRIGGER and not existing.get("delete_at"):
            merged = {**existing, **spec}
            return "updated", await chat.update_command(str(existing["id"]), merged)
    return "created", await chat.create_command(spec)


async def log_in_and_set_up(
    chat: MattermostChat, public_url: str, registry: Registry
) -> tuple[str, dict[str, Any]]:
    """`setup_command` after logging in; a failure is an `OperatorError` saying, in one
    line, whether the server is unreachable, the token wrong, the team unknown or the
    bot's rights too small, and what to do about it."""
    where = f"Mattermost at {chat.url}"
    try:
        await chat.login()
        return await setup_command(chat, public_url, registry)
    except NoAccessTokenProvided:
        raise OperatorError(
            f"{where} refused the token (401): set IDLBOT_MATTERMOST_TOKEN to the bot account's "
            "access token (System Console → Integrations → Bot Accounts)"
        ) from None
    except NotEnoughPermissions:
        raise OperatorError(
            f"{where} does not let the bot manage slash commands (403): make the bot account "
            f"an admin of team {chat.team_name!r}, or create /idl by hand"
        ) from None
    except ResourceNotFound:
        raise OperatorError(
            f"{where} has no team {chat.team_name!r} the bot is a member of (404): set [mattermost] team "
            "to the team's URL name and add the bot to that team",
            code=2,
        ) from None
    except (MattermostError, InvalidMattermostError) as err:
        status = getattr(err, "status_code", "?")
        raise OperatorError(f"{where} answered {status}: {str(err).splitlines()[0]}") from None
    except httpx.TimeoutException:
        raise OperatorError(
            f"{where} did not answer in time: check [mattermost] url and that the server is up"
        ) from None
    except httpx.HTTPError as err:
        raise OperatorError(
            f"cannot reach {where} ({str(err) or type(err).__name__}): check [mattermost] url "
            "and that the server is up, then try again"
        ) from None
