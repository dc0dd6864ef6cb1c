"""GET /calendar/{token}.ics: a student's deadlines and exercise sessions.

The token is the only credential (calendar apps cannot log in), so an unknown token
gets the same bare 404 as a malformed one, and the token never reaches the log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from idlbot.adapters import ics
from idlbot.clock import Clock
from idlbot.domain.course import Course
from idlbot.storage.reminders import SqlReminderStore

log = logging.getLogger(__name__)

ROUTE = "/calendar/{token}.ics"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")

GroupOf = Callable[[str], Awaitable[str | None]]
CourseOf = Callable[[str], Awaitable[str | None]]  # a calendar token's course id


@dataclass(frozen=True)
class Feed:
    """One course's calendar feeds: its tokens, its course, its students' groups."""

    store: SqlReminderStore
    course: Course
    group_of: GroupOf | None = None


def calendar_route(
    store: SqlReminderStore, course: Course, clock: Clock, *, group_of: GroupOf | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The handler of a one-course deployment; add it with `app.router.add_get(ROUTE, handler)`.
    `group_of` maps a Mattermost user id to the student's exercise group (None: every group)."""
    return calendar_routes([Feed(store, course, group_of)], clock)


def calendar_routes(
    feeds: Sequence[Feed], clock: Clock, *, course_of: CourseOf | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The handler for several courses: a token is a course's (each store reads only its
    own course's tokens), so the course whose store knows it serves the feed; `course_of`
    (one indexed read: tokens are unique across the database) says which, so a request
    costs one lookup whatever the number of courses."""

    async def candidates(token: str) -> Sequence[Feed]:
        if not _TOKEN.fullmatch(token):
            return ()
        if course_of is None or len(feeds) == 1:
            return feeds
        course = await course_of(token)
        return [f for f in feeds if f.course.id == course]

    async def owner_of(token: str) -> tuple[Feed, str, str] | None:
        for feed in await candidates(token):
            found = await feed.store.calendar_user(token)
            if found is not None:
                return feed, found[0], found[1]
        return None

    async def handler(request: web.Request) -> web.Response:
        found = await owner_of(request.match_info.get("token", ""))
        if found is None:
            log.info("calendar feed: unknown token from %s", request.remote)
            raise web.HTTPNotFound()
        feed, user_id, username = found
        course, group_of = feed.course, feed.group_of
        group_id = await group_of(user_id) if group_of is not None else None
        body = ics.render(course, ics.occurrences_for(course, group_id), now=clock.now(), name=username)
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Cache-Control": "private, max-age=300"},
        )

    return handler
