"""Ports of the qualification ledger: roster, ledger, staff records, audit trail.

* `Qualification`: what the chat commands use (`Ports.qualification`), implemented by
  `idlbot.services.qualification.QualificationService`, which checks the course rules
  (known assignment, team, valid roster values) and words the refusals for chat.
* `QualificationStore`: what that service needs from storage
  (``idlbot.storage.ledger.SqlQualification``). It only stores: a student it does not
  have is None, a GitLab name another student holds is a `RosterConflict`.
* `RosterWriter`: what the roster import needs (``SqlRoster``).

Commands see only these Protocols and the plain values below, so their tests run on an
in-memory fake. Every write takes ``by`` (the acting staff member's Mattermost username)
and ``now`` (from the command's clock): the audit row says who and when, and tests pin
the time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from idlbot.domain.ledger import HandInStatus, Outcome, Student, StudentLedger
from idlbot.domain.roster import KEEP, Keep, RosterChanges, RosterEdit

__all__ = [
    "KEEP",
    "AuditEntry",
    "Keep",
    "Progress",
    "Qualification",
    "QualificationStore",
    "RosterCounts",
    "RosterEdit",
    "RosterWriter",
    "UpsertResult",
]

UpsertResult = Literal["created", "updated", "unchanged"]
AuditAction = Literal["override", "present", "group-paper", "roster-edit"]


@dataclass(frozen=True)
class RosterCounts:
    """What an import did; re-importing the same file gives ``unchanged == total``."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True)
class AuditEntry:
    """One change made by a person, as `/idl audit` shows it.

    ``before`` / ``after`` are short human-readable states ("late (gitlab)" →
    "excused"), None when there was nothing before."""

    id: int
    at: datetime
    actor: str
    action: AuditAction
    student: str | None  # Mattermost username
    team_id: str | None
    assignment_id: str | None
    before: str | None
    after: str | None
    reason: str | None


class Qualification(Protocol):
    """What the chat commands (`/idl status|record|present|roster|audit`) need.

    Lookups return None for an unknown student; writes raise ``NotFound`` for one and
    ``UserError`` for an unknown assignment, group or team, with a message fit for chat.
    """

    async def student(self, mattermost: str) -> Student | None:
        """The roster entry for a Mattermost username (any case, '@' allowed)."""
        ...

    async def edit_student(self, mattermost: str, edit: RosterEdit, *, by: str, now: datetime) -> Student:
        """Change one roster entry (audited); returns the entry as it is now."""
        ...

    async def ledger_for(self, mattermost: str) -> StudentLedger | None:
        """Everything recorded for one student, in a constant number of queries."""
        ...

    async def all_ledgers(self, group_id: str | None = None) -> list[StudentLedger]:
        """Every active student's ledger (one exercise group's, if given), by username,
        in a constant number of queries whatever the course size."""
        ...

    async def override(
        self,
        mattermost: str,
        assignment_id: str,
        status: HandInStatus,
        *,
        reason: str,
        by: str,
        now: datetime,
    ) -> AuditEntry:
        """Set the hand-in status by hand; it wins over GitLab from then on."""
        ...

    async def present(
        self,
        mattermost: str,
        assignment_id: str,
        outcome: Outcome,
        *,
        note: str | None,
        by: str,
        now: datetime,
    ) -> AuditEntry:
        """Record (or correct) how presenting this assignment went."""
        ...

    async def set_group_paper(
        self,
        done: bool,
        *,
        team_id: str | None = None,
        mattermost: str | None = None,
        reason: str | None = None,
        by: str,
        now: datetime,
    ) -> AuditEntry:
        """Mark the group paper for a whole team, or for one student (which wins)."""
        ...

    async def audit(
        self, *, mattermost: str | None = None, assignment_id: str | None = None, limit: int = 50
    ) -> list[AuditEntry]:
        """The audit trail, newest first, optionally for one student and/or assignment."""
        ...


class QualificationStore(Protocol):
    """The qualification tables, as `QualificationService` needs them. Names are looked up
    normalised (`normalize_username`); ids arrive checked. Writes return None for a
    student the roster does not have, each with its audit row in the same transaction."""

    async def student(self, mattermost: str) -> Student | None: ...

    async def edit_student(
        self, mattermost: str, changes: RosterChanges, *, by: str, now: datetime
    ) -> Student | None:
        """Apply validated changes (audited); raises `RosterConflict` when the GitLab name
        belongs to another student (hand-ins would count for both)."""
        ...

    async def ledger_for(self, mattermost: str) -> StudentLedger | None: ...

    async def all_ledgers(self, group_id: str | None = None) -> list[StudentLedger]: ...

    async def override(
        self,
        mattermost: str,
        assignment_id: str,
        status: HandInStatus,
        *,
        reason: str,
        by: str,
        now: datetime,
    ) -> AuditEntry | None: ...

    async def present(
        self,
        mattermost: str,
        assignment_id: str,
        outcome: Outcome,
        *,
        note: str | None,
        by: str,
        now: datetime,
    ) -> AuditEntry | None: ...

    async def set_group_paper(
        self,
        done: bool,
        *,
        team_id: str | None = None,
        mattermost: str | None = None,
        reason: str | None = None,
        by: str,
        now: datetime,
    ) -> AuditEntry | None: ...

    async def audit(
        self, *, mattermost: str | None = None, assignment_id: str | None = None, limit: int = 50
    ) -> list[AuditEntry]: ...


Progress = Callable[[int, int], None]
"""Called with (done, total) while a long write runs (the roster import's progress bar)."""


class RosterWriter(Protocol):
    """What the import needs from storage (``SqlRoster`` implements it)."""

    async def bulk_upsert(
        self, students: Sequence[Student], *, now: datetime, progress: Progress | None = None
    ) -> RosterCounts: ...
