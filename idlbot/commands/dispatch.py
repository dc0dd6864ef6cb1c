"""Turns "user X typed Y in channel Z" into a command run, whatever the transport.

Slash commands, DMs and @-mentions all come through `Dispatcher.run`, so they share
one registry, one role check and one way of finding the user's time zone."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from idlbot.clock import Clock
from idlbot.commands.context import Context, Ports, User, Via
from idlbot.commands.registry import Registry
from idlbot.commands.reply import Reply
from idlbot.domain.chat import MattermostUser, UserTimezone
from idlbot.domain.course import Course
from idlbot.domain.roles import role_of
from idlbot.domain.timefmt import user_zone

log = logging.getLogger(__name__)

UserLookup = Callable[[str], Awaitable[MattermostUser]]


class Dispatcher:
    def __init__(
        self,
        registry: Registry,
        *,
        lookup_user: UserLookup,
        course: Course,
        instructors: tuple[str, ...],
        tutors: tuple[str, ...],
        clock: Clock,
        ports: Ports,
    ) -> None:
        self.registry = registry
        self.ports = ports
        self._lookup = lookup_user
        self._course = course
        self._instructors = instructors
        self._tutors = tutors
        self._clock = clock

    async def user(self, user_id: str, username_hint: str | None = None) -> User:
        """The asking user. If Mattermost cannot tell us the user's time zone right now,
        the command still runs, in the course's zone, with the name from the request."""
        timezone: UserTimezone | None
        try:
            found = await self._lookup(user_id)
            username, timezone = found.username, found.timezone
        except Exception as err:
            if username_hint is None:
                raise
            log.warning("user lookup for %s failed (%s); using defaults", user_id, type(err).__name__)
            username, timezone = username_hint, None
        role = role_of(username, instructors=self._instructors, tutors=self._tutors)
        tz = user_zone(timezone, self._course.tz)
        return User(id=user_id, username=username, role=role, tz=tz)

    async def context(
        self, user_id: str, channel_id: str, via: Via, username_hint: str | None = None
    ) -> Context:
        user = await self.user(user_id, username_hint)
        return Context(
            user=user,
            channel_id=channel_id,
            via=via,
            clock=self._clock,
            course=self._course,
            ports=self.ports,
            instructors=self._instructors,
        )

    async def run(
        self, user_id: str, channel_id: str, text: str, via: Via, username_hint: str | None = None
    ) -> Reply:
        ctx = await self.context(user_id, channel_id, via, username_hint)
        return await self.registry.run(ctx, text)
