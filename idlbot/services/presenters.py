"""The presenter rota as a course routine: before each class, propose a presenter per
team and DM every member of the team who it is and who has not presented yet.

One firing per class (`rem:presenters:<class day>`), planned `propose_before` the class
starts (calendar days + real time, `reminders.before`), so none falls in a lecture-free
week (those have no class). The runner claims each firing once; the proposal itself is
stored once per team and class day (`Presenters.propose`), and the DMs are queued under
`<firing key>:<team>:<user id>`, so a firing replayed after a crash neither proposes again
nor sends twice. A firing missed while the bot was down still goes out until the class
starts (`grace` reaches the class: a late proposal is better than none).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime

from idlbot.domain.course import Course
from idlbot.domain.ledger import Student
from idlbot.domain.presenters import presenting_classes, propose_for
from idlbot.domain.presenters_render import proposal_text
from idlbot.domain.reminders import Occurrence, before, routine_firing
from idlbot.domain.settings import PresenterSettings
from idlbot.ports.outbox import Outbox
from idlbot.ports.presenters import Presenters
from idlbot.ports.routines import RoutineResult

log = logging.getLogger(__name__)

NAME = "presenters"


class PresenterRoutine:
    name = NAME

    def __init__(
        self,
        store: Presenters,
        outbox: Outbox,
        user_ids: Callable[[list[Student]], Awaitable[list[tuple[str, str]]]],
        course: Course,
        settings: PresenterSettings,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._user_ids = user_ids
        self._course = course
        self._settings = settings

    def plan(self, course: Course) -> Iterable[Occurrence]:
        if not course.teams:
            return
        for meeting in presenting_classes(course):  # none before [presenters] start: no teams yet
            fire_at = before(meeting.start, self._settings.propose_before, course)
            day = meeting.day.isoformat()
            yield routine_firing(
                NAME,
                day,
                fire_at,
                grace=meeting.start - fire_at,
                deadline=meeting.start,
                ref=day,
                text=f"Presenter proposals for the class on {meeting.day:%a %d %b}",
            )

    async def fire(self, occurrence: Occurrence, now: datetime) -> RoutineResult:
        day = date.fromisoformat(occurrence.ref)
        told, proposed = 0, 0
        for team in self._course.teams:
            record = await self._store.team(team.id)
            pick = propose_for(record, day)
            if pick is None:
                continue  # no active members
            presenter = await self._store.propose(team.id, day, pick, now=now)
            proposed += 1
            not_yet = record.not_presented()
            accounts = await self._user_ids(list(await self._store.members(team.id)))
            items = [(f"{occurrence.key}:{team.id}:{user_id}", user_id) for user_id, _ in accounts]
            text = proposal_text(team, day, presenter, not_yet)
            await self._outbox.enqueue_dms(items=items, message=text, now=now)
            told += len(items)
        return RoutineResult(
            None, told, f"proposed a presenter for {proposed} of {len(self._course.teams)} teams"
        )
