"""The roster as the reminders see it: Mattermost user ids, groups, hand-ins.

Reminder DMs and the calendar feed address people by Mattermost user id, while the
roster is keyed by username (that is what staff type and what a CSV import carries).
This joins the two: an id the roster does not know yet is looked up once through the
Directory port (in batches) and remembered in the roster."""

from __future__ import annotations

import logging

from idlbot.clock import Clock
from idlbot.domain.ledger import Student
from idlbot.domain.usernames import normalize_username
from idlbot.ports.chat import Directory
from idlbot.ports.roster import LedgerReader, RosterLookup

log = logging.getLogger(__name__)


class RosterDirectory:
    def __init__(self, roster: RosterLookup, ledger: LedgerReader, people: Directory, clock: Clock) -> None:
        self._roster = roster
        self._ledger = ledger
        self._people = people
        self._clock = clock
        self._names: dict[str, str] = {}  # user id -> username

    async def _id(self, student: Student) -> str | None:
        found = await self.user_ids_of([student])
        return found[0][0] if found else None

    async def user_ids_of(self, students: list[Student]) -> list[tuple[str, str]]:
        """(user id, username) of the entries that have an account, in roster order.

        The ids not yet known are asked in one batch and stored in one transaction: one at
        a time, the first reminder to 500 students took 500 requests and 500 writes."""
        missing = [s.mattermost for s in students if not s.mattermost_id]
        looked_up = await self._people.user_ids(missing) if missing else {}
        if looked_up:
            await self._roster.set_mattermost_ids(looked_up, now=self._clock.now())
        found = []
        for student in students:
            user_id = student.mattermost_id or looked_up.get(normalize_username(student.mattermost))
            if user_id is None:
                log.warning("roster: @%s has no Mattermost account; no DMs for them", student.mattermost)
                continue
            self._names[user_id] = student.mattermost
            found.append((user_id, student.mattermost))
        return found

    async def students(self) -> list[tuple[str, str]]:
        return await self.user_ids_of(await self._roster.all())

    async def group_members(self, group_id: str) -> list[str]:
        return [user_id for user_id, _ in await self.user_ids_of(await self._roster.all(group_id))]

    async def _username(self, user_id: str) -> str | None:
        if user_id not in self._names:
            await self.students()
        return self._names.get(user_id)

    async def has_hand_in(self, user_id: str, assignment_id: str) -> bool:
        """Anything handed in (on time or late) stops the "no hand-in yet" nudge."""
        username = await self._username(user_id)
        ledger = await self._ledger.ledger_for(username) if username else None
        if ledger is None:
            return False
        return any(
            h.assignment_id == assignment_id and h.status in ("on-time", "late") for h in ledger.hand_ins
        )

    async def user_for_cluster(self, cluster_username: str) -> str | None:
        """The Mattermost user id of a cluster account's owner (job DMs), None if unknown."""
        student = await self._roster.by_cluster(cluster_username)
        return await self._id(student) if student is not None else None

    async def cluster_account(self, mattermost: str) -> str | None:
        student = await self._roster.by_mattermost(normalize_username(mattermost))
        return student.cluster if student is not None else None

    async def group_of(self, user_id: str) -> str | None:
        username = await self._username(user_id)
        student = await self._roster.by_mattermost(username) if username else None
        return student.group_id if student else None
