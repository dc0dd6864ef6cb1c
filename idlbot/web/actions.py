"""POST /mattermost/action: the Post / Cancel buttons of an announcement preview.

Mattermost's action POST carries no token, so the service checks the HMAC that each
button carries (see `AnnouncementService.handle_action`); this route checks the click's
shape (a malformed one gets 400) and turns it into that call and the outcome into a status.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from idlbot.clock import Clock
from idlbot.services.announcements import ACTION_PATH, AnnouncementService
from idlbot.web.inputs import BadInput, bad_request, json_object

log = logging.getLogger(__name__)

__all__ = ["ACTION_PATH", "action_handler"]


MAX_ID = 2**63 - 1  # the announcements table's id column
MAX_FIELD = 256  # tokens and signatures are 64 hex digits; user ids 26 characters


def _field(value: object, name: str) -> str:
    """A short string of printable ASCII, as every field the buttons carry is."""
    if not isinstance(value, str) or len(value) > MAX_FIELD or not (value.isascii() and value.isprintable()):
        raise BadInput(f"`{name}` is not printable ASCII of at most {MAX_FIELD} characters")
    return value


def _announcement(value: object) -> int:
    """Mattermost keeps `context` as Go interface{} values: the id may come back as 1.0."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise BadInput(f"`context.announcement` is not an id (an integer from 1 to {MAX_ID})")
    return value


def click(payload: dict[str, Any]) -> dict[str, Any]:
    """The click as the service reads it, every field checked for type and size; raises
    BadInput for any other shape (a click Mattermost relays always has them)."""
    context = payload.get("context")
    if not isinstance(context, dict):
        raise BadInput("`context` is not an object")
    checked: dict[str, Any] = {
        "announcement": _announcement(context.get("announcement")),
        "token": _field(context.get("token"), "context.token"),
        "sig": _field(context.get("sig"), "context.sig"),
        "action": _field(context.get("action", ""), "context.action"),
    }
    return {"user_id": _field(payload.get("user_id", ""), "user_id"), "context": checked}


def action_handler(
    *services: AnnouncementService, clock: Clock
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for `POST /mattermost/action` (button clicks). Fails closed: a
    body that is not a click (not a JSON object, fields of the wrong type or size) gets
    400, a context whose signature does not verify 403; each with one log line. With
    several courses, each course's service is asked in turn: only the course that made
    the button verifies its signature and has its announcement."""

    async def handle(request: web.Request) -> web.Response:
        try:
            payload = click(json_object(await request.read()))
        except BadInput as err:
            return bad_request(request, "mattermost_action", err)
        refused: PermissionError | None = None
        for service in services:
            try:
                return web.json_response(await service.handle_action(payload, clock.now()))
            except PermissionError as err:
                refused = err
        log.warning("mattermost action rejected from %s: %s", request.remote, refused)
        raise web.HTTPForbidden()

    return handle
