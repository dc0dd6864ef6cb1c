"""Turns "user X typed Y in channel Z" into a command run, whatever the transport.

Slash commands, DMs and @-mentions all come through `Dispatcher.run`, so they share
one registry, one role check and one way of finding out who is asking.

Who is asking is what Mattermost says the user id belongs to, and nothing else: the id
must have Mattermost's id shape, the lookup must succeed, and its answer must be about
that id. A slash form also carries `user_name`, but it is never used: a role decided by
a name the request itself claims would let anyone who can reach the route be the
instructor. When the caller cannot be identified, nothing is run and the reply says why
(an outage is worth retrying; an unknown account is not)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from idlbot.clock import Clock
from idlbot.commands.context import Context, Ports, User, Via
from idlbot.commands.registry import Registry
from idlbot.commands.reply import Reply
from idlbot.domain.chat import InvalidUserId, MattermostUser, UnknownUser, is_user_id
from idlbot.domain.course import Course
from idlbot.domain.errors import UserError
from idlbot.domain.roles import role_of
from idlbot.domain.timefmt import user_zone

log = logging.getLogger(__name__)

UserLookup = Callable[[str], Awaitable[MattermostUser]]

NOT_AN_ID = "That request does not carry a Mattermost user id, so I cannot tell who you are."
UNKNOWN_USER = "Mattermost does not know your account (unknown user), so I ran nothing."
LOOKUP_FAILED = "I could not look you up in Mattermost right now; try again in a minute."


class NotIdentified(UserError):
    """The asking user could not be identified; `reason` names why, for the log."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(text)
        self.reason = reason


class Dispatcher:
    KEEP_USERS = 4096

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
        # each asker's User, while the lookup answers with the same MattermostUser: working
        # out the role and the time zone again cost ~5 us of every command (py-spy)
        self._users: dict[str, tuple[MattermostUser, User]] = {}

    async def user(self, user_id: str) -> User:
        """The asking user as Mattermost knows them: username (hence role) and time zone.
        Raises NotIdentified when the id is malformed, unknown, or cannot be looked up."""
        if not is_user_id(user_id):
            raise NotIdentified(NOT_AN_ID, "malformed_user_id")
        try:
            found = await self._lookup(user_id)
        except (UnknownUser, InvalidUserId):
            raise NotIdentified(UNKNOWN_USER, "unknown_user") from None
        except Exception as err:  # noqa: BLE001 - any failure of the lookup leaves the caller unknown
            log.warning("user lookup for %s failed: %s", user_id, type(err).__name__)
            raise NotIdentified(LOOKUP_FAILED, "lookup_failed") from None
        if found.id != user_id:
            log.error("user lookup for %s answered about %s; refused", user_id, found.id)
            raise NotIdentified(UNKNOWN_USER, "lookup_mismatch")
        kept = self._users.get(user_id)
        if kept is not None and kept[0] is found:  # the lookup's cache answered with the same record
            return kept[1]
        role = role_of(found.username, instructors=self._instructors, tutors=self._tutors)
        tz = user_zone(found.timezone, self._course.tz)
        user = User(id=user_id, username=found.username, role=role, tz=tz)
        if len(self._users) >= self.KEEP_USERS:
            self._users.clear()
        self._users[user_id] = (found, user)
        return user

    async def context(self, user_id: str, channel_id: str, via: Via) -> Context:
        user = await self.user(user_id)
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
        self,
        user_id: str,
        channel_id: str,
        text: str,
        via: Via,
        username_hint: str | None = None,
        *,
        message_id: str | None = None,
    ) -> Reply:
        """Run `text` for the user with this id. `username_hint` (the slash form's
        `user_name`) is accepted for the route's sake and ignored, see the module docstring;
        `message_id` (the post answered) is the course router's business."""
        try:
            ctx = await self.context(user_id, channel_id, via)
        except NotIdentified as err:
            log.warning(
                "command refused: caller not identified (%s) via=%s",
                err.reason,
                via,
                extra={"event": "command", "outcome": err.reason},
            )
            return Reply.private(str(err))
        return await self.registry.run(ctx, text)
