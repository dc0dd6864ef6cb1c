"""Mattermost as commands and services see it: people by username."""

from __future__ import annotations

from typing import Protocol


class People(Protocol):
    """Mattermost accounts by username (for DMs to students and instructors)."""

    async def user_id(self, username: str) -> str | None:
        """The user id, or None if Mattermost has no such user."""
        ...
