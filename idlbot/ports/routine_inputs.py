"""What the blog nudge and the early warnings read: every active student's ledger, and
the students' Mattermost ids. Implemented by `storage.ledger.SqlQualification` and
`services.roster_directory.RosterDirectory`; tests pass fakes."""

from __future__ import annotations

from typing import Protocol

from idlbot.domain.ledger import StudentLedger

__all__ = ["Ledgers", "StudentIds"]


class Ledgers(Protocol):
    async def all_ledgers(self, group_id: str | None = None) -> list[StudentLedger]:
        """Active students' ledgers (of one exercise group), by username."""
        ...


class StudentIds(Protocol):
    async def students(self) -> list[tuple[str, str]]:
        """(Mattermost user id, username) of every active student Mattermost knows."""
        ...
