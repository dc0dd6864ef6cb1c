"""Turns "user X typed Y in channel Z" into a command run, whatever the transport.

Slash commands, DMs and @-mentions all come through `Dispatcher.run`, so they share
one registry, one role check and one way of finding the user's time zone."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from idlbot.clock import Clock
from idlbot.commands.context import Context, User, Via
from idlbot.commands.registry import Registry
from idlbot.commands.reply import Reply
from idlbot.domain.chat import MattermostUser, UserTimezone
from idlbot.domain.course import Course
from idlbot.domain.roles import role_of
from idlbot.domain.timefmt import user_zone
from idlbot.ports.agenda import Agenda
from idlbot.ports.announce import Announcements, Maintenance
from idlbot.ports.chat import People
from idlbot.ports.health import Health
from idlbot.ports.jobs import Jobs
from idlbot.ports.outbox import Outbox
from idlbot.ports.qualification import Qualification
from idlbot.ports.reminders import Reminders

log = logging.getLogger(__name__)

UserLookup = Callable[[str], Awaitable[MattermostUser]]


@dataclass(frozen=True)
class CommandPorts:
    """The optional ports commands may use; None where a feature is not configured."""

    outbox: Outbox | None = None
    qualification: Qualification | None = None
    reminders: Reminders | None = None
    people: People | None = None
    agenda: Agenda | None = None
    announcements: Announcements | None = None
    maintenance: Maintenance | None = None
    jobs: Jobs | None = None


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
        health: Health,
        ports: CommandPorts | None = None,
    ) -> None:
        self.registry = registry
        self.ports = ports or CommandPorts()
        self._lookup = lookup_user
        self._course = course
        self._instructors = instructors
        self._tutors = tutors
        self._clock = clock
        self._health = health

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
        p = self.ports
        return Context(
            user=user,
            channel_id=channel_id,
            via=via,
            clock=self._clock,
            course=self._course,
            health=self._health,
            outbox=p.outbox,
            qualification=p.qualification,
            reminders=p.reminders,
            people=p.people,
            agenda=p.agenda,
            announcements=p.announcements,
            maintenance=p.maintenance,
            jobs=p.jobs,
            instructors=self._instructors,
        )

    async def run(
        self, user_id: str, channel_id: str, text: str, via: Via, username_hint: str | None = None
    ) -> Reply:
        ctx = await self.context(user_id, channel_id, via, username_hint)
        return await self.registry.run(ctx, text)
