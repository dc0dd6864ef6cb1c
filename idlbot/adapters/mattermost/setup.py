"""`idlbot setup-mattermost`: create or update the /idl slash command through the API.

Idempotent: run it again after changing `server.public_url` and the existing command is
updated in place, keeping its token (a new token would break the running bot)."""

from __future__ import annotations

from typing import Any

from idlbot.adapters.mattermost.rest import MattermostChat
from idlbot.commands.registry import Registry

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
