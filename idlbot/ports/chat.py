"""Mattermost as commands and services see it: people by username."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class People(Protocol):
    """Mattermost accounts by username (for DMs to students and instructors)."""

    async def user_id(self, username: str) -> str | None:
        """The user id, or None if Mattermost has no such user."""
        ...


class Directory(People, Protocol):
    """People, many at once: a fan-out to the whole roster asks once per hundred names."""

    async def user_ids(self, usernames: Iterable[str]) -> dict[str, str]:
        """{username: user id} for the names Mattermost has (lowercase, without "@");
        names it has not are left out."""
        ...
