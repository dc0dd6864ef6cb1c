"""`Presenters` in memory, for the command contract tests: alice is on lyrics-a, bob on
lyrics-b (as in `fake_ledger.py`); nothing recorded or proposed yet."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from idlbot.domain.ledger import Student
from idlbot.domain.presenters import Presented, Proposal, TeamRecord
from idlbot.ports.presenters import Recorded


@dataclass
class FakePresenters:
    teams: dict[str, list[str]] = field(default_factory=lambda: {"lyrics-a": ["alice"], "lyrics-b": ["bob"]})
    presented: list[Presented] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)

    async def members(self, team_id: str) -> list[Student]:
        return [Student(n, team_id=team_id) for n in self.teams.get(team_id, [])]

    async def team(self, team_id: str) -> TeamRecord:
        return TeamRecord(
            team_id,
            tuple(self.teams.get(team_id, [])),
            tuple(p for p in self.presented if p.team_id == team_id),
            tuple(p for p in self.proposals if p.team_id == team_id),
        )

    async def propose(self, team_id: str, day: date, student: str, *, now: datetime) -> str:
        found = next((p for p in self.proposals if (p.team_id, p.day) == (team_id, day)), None)
        if found is None:
            found = Proposal(team_id, day, student)
            self.proposals.append(found)
        return found.student

    async def record(
        self, team_id: str, student: str, day: date, *, by: str, now: datetime
    ) -> Recorded | None:
        if not any(student in members for members in self.teams.values()):
            return None
        for p in self.presented:
            if (p.team_id, p.student, p.day) == (team_id, student, day):
                return Recorded(False, p)
        made = Presented(team_id, student, day, by, now)
        self.presented.append(made)
        return Recorded(True, made)
