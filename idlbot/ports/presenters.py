"""The `Presenters` port: the team presenter rota's records (storage/presenters.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from idlbot.domain.ledger import Student
from idlbot.domain.presenters import Presented, TeamRecord


@dataclass(frozen=True)
class Recorded:
    """The outcome of `/idl presented`: `created` False when it was recorded before
    (`record` is then the earlier one, with its recorder and time)."""

    created: bool
    record: Presented


class Presenters(Protocol):
    async def team(self, team_id: str) -> TeamRecord:
        """The team's active members, presentations, proposals and report pages."""
        ...

    async def members(self, team_id: str) -> list[Student]:
        """The team's active roster entries (for the DMs: their Mattermost ids)."""
        ...

    async def propose(self, team_id: str, day: date, student: str, *, now: datetime) -> str:
        """Store the proposal unless one exists for this team and day; the stored one's
        username either way (two processes agree on the first)."""
        ...

    async def record(
        self, team_id: str, student: str, day: date, *, by: str, now: datetime
    ) -> Recorded | None:
        """Record a presentation; None if `student` is not on the roster."""
        ...
