"""The exclusion notices port: announce every stored exclusion transition exactly once.

Implemented by ``idlbot.services.exclusion.ExclusionNotifier``. `present` calls it after
each record, the app at every start and periodically (a crash between the record and
its notices leaves them to the next pass), so announcing is idempotent: the notices go
to the outbox under keys per student, transition and recipient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from idlbot.domain.exclusion import ExclusionChange

__all__ = ["Announced", "ExclusionNotices"]


@dataclass(frozen=True)
class Announced:
    """One transition whose notices this call queued (or found queued already)."""

    change: ExclusionChange
    student_told: bool  # False: Mattermost has no such user
    instructors_told: int


class ExclusionNotices(Protocol):
    async def announce(self, now: datetime) -> list[Announced]:
        """Queue the notices of every transition not announced yet; what was announced."""
        ...

    async def caused_by(self, record_id: int) -> ExclusionChange | None:
        """The transition the record with this audit id made, if any (announced or not:
        a concurrent `announce` may have queued its notices already)."""
        ...
