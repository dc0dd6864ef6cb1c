"""Which course a message is for, in a deployment of several courses.

- A slash command: by its team (each course has its own team and its own `/idl`, whose
  token Mattermost made for that team): `for_team`, used by the web route.
- An @-mention: by the team of the channel it was posted in.
- A DM has no team. It belongs to the one course its sender is in (staff or an active
  student); someone in several courses is asked once, in the reply to their first DM,
  which one they mean, their DMs go to the first of their courses until they answer, and
  `/idl use <course>` (`commands/use.py`) changes it. Someone in no course is answered
  by the first course (help, whoami still work; course commands say they are not on it).

The router stands where the dispatcher stood for `Inbound` (same `run`), and is the
`CourseChoices` port of `/idl use`. A one-course deployment never gets here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from idlbot.clock import Clock
from idlbot.commands.context import Via
from idlbot.commands.registry import Registry
from idlbot.commands.reply import Reply
from idlbot.domain.chat import MattermostUser
from idlbot.domain.defuse import defuse
from idlbot.ports.course_choice import Choice, CourseRef
from idlbot.storage.course_choices import SqlCourseChoices

if TYPE_CHECKING:
    from idlbot.app_course import CourseBot

log = logging.getLogger(__name__)

TeamOf = Callable[[str], Awaitable[str | None]]


def _ref(unit: CourseBot) -> CourseRef:
    return CourseRef(unit.id, unit.name)


class CourseRouter:
    def __init__(
        self,
        registry: Registry,
        store: SqlCourseChoices,
        *,
        lookup_user: Callable[[str], Awaitable[MattermostUser]],
        team_of_channel: TeamOf,
        clock: Clock,
    ) -> None:
        self.registry = registry  # the web route asks it whether a command is slow
        self.units: list[CourseBot] = []  # set once the courses are built (they need the router)
        self._store = store
        self._lookup = lookup_user
        self._team_of = team_of_channel
        self._clock = clock

    # ------------------------------------------------------------------ the port
    def courses(self) -> list[CourseRef]:
        return [_ref(u) for u in self.units]

    async def courses_of(self, username: str) -> list[CourseRef]:
        return [_ref(u) for u in await self._member_units(username)]

    async def current(self, user_id: str, username: str) -> CourseRef | None:
        mine = await self._member_units(username)
        if not mine:
            return None
        return _ref(_chosen(await self._store.get(user_id), mine))

    async def choose(self, user_id: str, course_id: str) -> None:
        await self._store.choose(user_id, course_id, self._clock.now())

    # ------------------------------------------------------------------ routing
    def for_team(self, team_id: str) -> CourseBot | None:
        return next((u for u in self.units if u.chat.team_id and u.chat.team_id == team_id), None)

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
        """`message_id`: the post answered. The question is asked in the answer to one post,
        and in every answer to that post: two replicas answering it at once, or a retry
        after a crash, answer alike, so whichever answer is sent asks it."""
        unit, note = await self._pick(user_id, channel_id, text, via, message_id)
        reply = await unit.dispatcher.run(user_id, channel_id, text, via, username_hint)
        return replace(reply, text=f"{reply.text}\n\n{note}") if note else reply

    async def _pick(
        self, user_id: str, channel_id: str, text: str, via: Via, message_id: str | None
    ) -> tuple[CourseBot, str | None]:
        if via == "mention":
            team_id = await self._team(channel_id)
            found = self.for_team(team_id) if team_id else None
            if found is not None:
                return found, None
        try:
            user = await self._lookup(user_id)
        except Exception:  # noqa: BLE001 - the dispatcher says what is wrong with the caller
            return self.units[0], None
        mine = await self._member_units(user.username)
        if len(mine) <= 1:
            return (mine or self.units)[0], None
        choice = await self._store.get(user_id)
        if choice is None and text.strip().lower().split()[:1] != ["use"]:
            await self._store.ask(user_id, mine[0].id, self._clock.now(), asked_in=message_id)
            choice = await self._store.get(user_id)  # this post's, or another's that asked first
        unit = _chosen(choice, mine)
        asks = (
            choice is not None
            and not choice.chosen
            and message_id is not None
            and choice.asked_in == message_id
        )
        return unit, (_question(mine, unit) if asks else None)

    async def _member_units(self, username: str) -> list[CourseBot]:
        return [u for u in self.units if await u.is_member(username)]

    async def _team(self, channel_id: str) -> str | None:
        try:
            return await self._team_of(channel_id)
        except Exception as err:  # noqa: BLE001 - then it is routed like a DM
            log.warning("team of channel %s not known (%s)", channel_id, type(err).__name__)
            return None


def _chosen(choice: Choice | None, mine: Sequence[CourseBot]) -> CourseBot:
    """The user's chosen (or asked-about) course if they are still in it, else their first."""
    found = next((u for u in mine if choice is not None and u.id == choice.course), None)
    return found or mine[0]


def _question(mine: Sequence[CourseBot], first: CourseBot) -> str:
    others = [u for u in mine if u is not first]
    switch = "; ".join(f"`use {u.id}` for {defuse(u.name)}" for u in others)
    return (
        f"_You are in {len(mine)} of my courses, so I answered for **{defuse(first.name)}**. "
        f"Which one do you mean in DMs? Reply {switch}, or `use {first.id}` to keep this one "
        "(I ask only once; `use` changes it any time)._"
    )
