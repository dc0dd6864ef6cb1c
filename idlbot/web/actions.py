"""POST /mattermost/action: the Post / Cancel buttons of an announcement preview.

Mattermost's action POST carries no token, so the service checks the HMAC that each
button carries (see `AnnouncementService.handle_action`); this route only turns the
request into that call and the outcome into a status.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from idlbot.clock import Clock
from idlbot.services.announcements import ACTION_PATH, AnnouncementService

log = logging.getLogger(__name__)

__all__ = ["ACTION_PATH", "action_handler"]


def action_handler(
    service: AnnouncementService, clock: Clock
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for `POST /mattermost/action` (button clicks). Fails closed:
    a body that is not JSON, or a context whose signature does not verify, gets 403 and is
    not logged (it is unauthenticated)."""

    async def handle(request: web.Request) -> web.Response:
        try:
            payload = await request.json()
        except ValueError:
            raise web.HTTPBadRequest() from None
        if not isinstance(payload, dict):
            raise web.HTTPBadRequest()
        try:
            body = await service.handle_action(payload, clock.now())
        except PermissionError as err:
            log.warning("mattermost action rejected from %s: %s", request.remote, err)
            raise web.HTTPForbidden() from None
        return web.json_response(body)

    return handle
