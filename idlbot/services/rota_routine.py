"""`SummaryRota`: the session-summary rota's moments, as a course routine on the reminder
planner (ports/routines.py), planned around `class_meetings(course)`.

For the class on day N (keys `rem:summaries:<N>:<what>`):

* `announce`, `announce_before` before class N starts: the pick is made (if no staff or
  swap action made it earlier) and stored, posted in the course channel, and the writer
  is told by DM what to write, which page to create and that they recap it next class;
* `remind`, the day before the next class at `remind_at`: the writer gets a DM if the
  page is still missing;
* `alert`, when the next class starts: the instructors get one DM if it is still missing.

Lecture-free weeks have no class (`class_meetings` leaves them out), so nothing fires in
them and the "next class" after a break is the first one after it. The last class of the
term has no next class, so no reminder or alert. Every post is queued under the firing's
key (the channel post) or `<key>:<user id>` (DMs), so a firing run again is a no-op.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

from idlbot.domain.course import Course
from idlbot.domain.reminders import Occurrence, before, routine_firing
from idlbot.domain.rota_text import alert_dm, announcement, reminder_dm
from idlbot.domain.schedule import class_meetings, wall_clock
from idlbot.ports.outbox import Outbox
from idlbot.ports.routines import RoutineResult
from idlbot.services.reminder_firing import DeliveryProblem
from idlbot.services.rota import RotaService

NAME = "summaries"
ALERT_GRACE = timedelta(hours=12)
"""How late (after downtime) the instructors' alert may still go out."""


class SummaryRota:
    name = NAME

    def __init__(
        self,
        service: RotaService,
        outbox: Outbox,
        *,
        channels: Mapping[str, str],
        channel_id: Callable[[str], Awaitable[str | None]],
        instructors: Sequence[str],
    ) -> None:
        self._service = service
        self._outbox = outbox
        self._channels = channels
        self._channel_id = channel_id
        self._instructors = tuple(instructors)

    def _occurrence(
        self, day: date, what: str, at: datetime, grace: timedelta, deadline: datetime | None
    ) -> Occurrence:
        iso = day.isoformat()
        return routine_firing(NAME, f"{iso}:{what}", at, grace=grace, deadline=deadline, ref=iso)

    def plan(self, course: Course) -> Iterable[Occurrence]:
        settings = self._service.settings
        meetings = class_meetings(course)
        for m, nxt in zip(meetings, (*meetings[1:], None), strict=True):
            at = before(m.start, settings.announce_before, course)
            yield self._occurrence(m.day, "announce", at, m.start - at, m.start)
            if nxt is None:
                continue
            remind = wall_clock(nxt.day - timedelta(days=1), settings.remind_at, course.tz)
            if m.end < remind < nxt.start:
                yield self._occurrence(m.day, "remind", remind, nxt.start - remind, nxt.start)
            if settings.alert:
                yield self._occurrence(m.day, "alert", nxt.start, ALERT_GRACE, None)

    async def fire(self, occurrence: Occurrence, now: datetime) -> RoutineResult:
        day = date.fromisoformat(occurrence.ref)
        what = occurrence.key.rsplit(":", 1)[1]
        if what == "announce":
            return await self._announce(occurrence.key, day, now)
        pick = (await self._service.store.picks()).get(day)
        if pick is None:
            return RoutineResult(None, 0, "no writer was picked")
        page = await self._service.page(pick)
        if page is not None:
            return RoutineResult(None, 0, f"summary page {page.slug} is there")
        slug = self._service.slug(day)
        if what == "remind":
            nxt = self._service.next_meeting(day)
            if nxt is None:  # planned only where there is a next class; the config changed since
                return RoutineResult(None, 0, "no next class")
            told = await self._service.dm(occurrence.key, pick.writer, reminder_dm(day, slug, nxt.start), now)
            return RoutineResult(None, 1 if told else 0, f"page missing, reminded {pick.writer}")
        text = alert_dm(day, pick.writer, slug)
        told_staff = [i for i in self._instructors if await self._service.dm(occurrence.key, i, text, now)]
        if self._instructors and not told_staff:
            raise DeliveryProblem("no instructor has a Mattermost account")
        return RoutineResult(None, len(told_staff), f"page missing, told {len(told_staff)} instructors")

    async def _announce(self, key: str, day: date, now: datetime) -> RoutineResult:
        purpose = self._service.settings.channel
        name = self._channels.get(purpose, purpose)
        channel = await self._channel_id(name)
        if channel is None:
            raise DeliveryProblem(f"no channel ~{name}")
        pick = await self._service.ensure_pick(day, now)
        if pick is None:
            return RoutineResult(None, 0, "nobody can write: no active student is available")
        nxt = self._service.next_meeting(day)
        text = announcement(day, pick.writer, self._service.slug(day), nxt.start if nxt else None)
        await self._outbox.enqueue(key=key, message=text, now=now, channel_id=channel)
        told = await self._service.tell_writer(pick, now, key=key)
        await self._service.store.mark_announced(day, now=now)
        return RoutineResult(key, 1 if told else 0, f"writer {pick.writer}")
