"""GET /calendar/{token}.ics: a student's deadlines and exercise sessions.

The token is the only credential (calendar apps cannot log in), so an unknown token
gets the same bare 404 as a malformed one, and the token never reaches the log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from idlbot.adapters import ics
from idlbot.clock import Clock
from idlbot.domain.course import Course
from idlbot.storage.reminders import SqlReminderStore

log = logging.getLogger(__name__)

ROUTE = "/calendar/{token}.ics"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")

GroupOf = Callable[[str], Awaitable[str | None]]


def calendar_route(
    store: SqlReminderStore, course: Course, clock: Clock, *, group_of: GroupOf | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The handler; add it with `app.router.add_get(ROUTE, handler)`. `group_of` maps a
    Mattermost user id to the student's exercise group (None: show every group)."""

    async def handler(request: web.Request) -> web.Response:
        token = request.match_info.get("token", "")
        owner = await store.calendar_user(token) if _TOKEN.fullmatch(token) else None
        if owner is None:
            log.info("calendar feed: unknown token from %s", request.remote)
            raise web.HTTPNotFound()
        user_id, username = owner
        group_id = await group_of(user_id) if group_of is not None else None
        body = ics.render(course, ics.occurrences_for(course, group_id), now=clock.now(), name=username)
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Cache-Control": "private, max-age=300"},
        )

    return handler
