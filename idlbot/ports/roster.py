"""The roster and ledger reads that join Mattermost ids to students (`RosterDirectory`).

Implemented by `storage.roster.SqlRoster` and `storage.ledger.SqlLedger`. The roster is
keyed by Mattermost username (what staff type, what a CSV import carries), while DMs and
the calendar feed address people by Mattermost user id; these are the few calls that
bridge the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from idlbot.domain.ledger import Student, StudentLedger


class RosterLookup(Protocol):
    async def all(self, group_id: str | None = None) -> list[Student]:
        """Active students by username; one exercise group's if `group_id` (nudge targets)."""
        ...

    async def by_mattermost(self, username: str) -> Student | None:
        """The entry for a Mattermost username (any case), None if not on the roster."""
        ...

    async def by_cluster(self, username: str) -> Student | None:
        """The entry owning a cluster account: who a Slurm job's DM goes to."""
        ...

    async def set_mattermost_ids(self, ids: Mapping[str, str], *, now: datetime) -> None:
        """Remember looked-up user ids ({username: user id}), in one transaction, so the
        next DM needs no Mattermost lookup."""
        ...


class LedgerReader(Protocol):
    async def ledger_for(self, mattermost: str) -> StudentLedger | None:
        """One student's records (the "no hand-in yet" nudge asks about their hand-ins)."""
        ...
