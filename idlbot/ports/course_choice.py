"""Which course a message is for, when a user is in several courses of the deployment.

A slash command names its course by its team; a DM does not. A DM belongs to the one
course the user is in; a user in several is asked once which one they mean, their DMs go
to the first of their courses until they answer, and `/idl use <course>` changes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Choice:
    course: str  # a course id
    chosen: bool  # False: the bot picked it when it asked
    asked_in: str | None = None  # the post whose answer asked (None: asked outside a post)


@dataclass(frozen=True)
class CourseRef:
    id: str
    name: str


class CourseChoices(Protocol):
    """The port `/idl use` needs."""

    def courses(self) -> list[CourseRef]:
        """Every course of the deployment, in the config's order."""
        ...

    async def courses_of(self, username: str) -> list[CourseRef]:
        """The courses `username` belongs to (staff or active student)."""
        ...

    async def current(self, user_id: str, username: str) -> CourseRef | None:
        """The course the user's DMs go to now, None if they belong to none."""
        ...

    async def choose(self, user_id: str, course_id: str) -> None: ...
