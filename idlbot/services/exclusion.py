"""Announcing exclusion transitions: one notice to the student, one to each instructor.

The transitions themselves are computed by the domain (``domain/exclusion.py``) and
stored with the record that made them (``storage/exclusion.py``); this only turns the
ones not yet announced into outbox DMs. Every notice's key is per student, transition
number and recipient, so running this twice, concurrently, or again after a crash
between queueing and marking queues nothing twice (the outbox drops a known key).

A transition is marked announced once its DMs are queued, or when a recipient has no
Mattermost account (waiting would not help). When Mattermost cannot be asked, it stays
unannounced and the next pass (every few seconds, and at start) tries again
(``services/transition_notices.py``, shared with the early warnings).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from idlbot.domain.exclusion import ExclusionChange, instructor_notice, notice_key, student_notice
from idlbot.ports.chat import People
from idlbot.ports.exclusion import Announced
from idlbot.ports.outbox import Outbox
from idlbot.services.transition_notices import announce_in_order

__all__ = ["ExclusionNotifier", "ExclusionStore"]

log = logging.getLogger(__name__)


class ExclusionStore(Protocol):
    """What announcing needs from storage (``storage.exclusion.SqlExclusions``)."""

    async def unannounced(self) -> list[ExclusionChange]: ...

    async def mark_announced(self, changes: Sequence[ExclusionChange], *, now: datetime) -> None: ...

    async def caused_by(self, record_id: int) -> ExclusionChange | None: ...


class ExclusionNotifier:
    def __init__(
        self,
        store: ExclusionStore,
        outbox: Outbox,
        people: People,
        instructors: Sequence[str],
        *,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._people = people
        self._instructors = tuple(instructors)
        self._wake = wake

    async def _dm(
        self, change: ExclusionChange, recipient: str, username: str, text: str, now: datetime
    ) -> bool:
        user_id = await self._people.user_id(username)
        if user_id is None:
            log.warning(
                "exclusion notice %s: Mattermost has no user @%s", notice_key(change, recipient), username
            )
            return False
        await self._outbox.enqueue(
            key=notice_key(change, recipient), message=text, now=now, dm_user_id=user_id
        )
        return True

    async def caused_by(self, record_id: int) -> ExclusionChange | None:
        return await self._store.caused_by(record_id)

    async def announce(self, now: datetime) -> list[Announced]:
        async def send(change: ExclusionChange) -> Announced:
            student = await self._dm(change, "student", change.student, student_notice(change), now)
            staff = 0
            for instructor in self._instructors:
                staff += await self._dm(change, instructor, instructor, instructor_notice(change), now)
            return Announced(change, student, staff)

        async def mark(change: ExclusionChange) -> None:
            await self._store.mark_announced([change], now=now)

        pending = await self._store.unannounced()
        done = await announce_in_order(pending, send=send, mark=mark, what="exclusion notice")
        if done and self._wake is not None:
            self._wake()
        return done


if TYPE_CHECKING:
    from idlbot.ports.exclusion import ExclusionNotices

    _PORT_CHECK: type[ExclusionNotices] = ExclusionNotifier  # mypy: the class satisfies the port
