"""`RotaService`: the session-summary rota's state changes (pick, assign, excuse, swap),
the recognition of summary pages, and what `/idl rota` shows.

The pick is made and stored at the first moment that needs it: the announcement before
the class (the routine, `services/rota_routine.py`), or a staff or swap action on that
class. Stored once per class date (`RotaStore.insert_pick`), so two processes or a
restart never pick twice. Every DM goes through the outbox under a key naming the pick's
revision or the swap request's id, so each change is told exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import date, datetime

from idlbot.domain.course import Course
from idlbot.domain.errors import Forbidden, UserError
from idlbot.domain.gitlab import WikiCreation
from idlbot.domain.ledger import Student
from idlbot.domain.rota import (
    How,
    Pick,
    RotaState,
    SummaryPage,
    SummarySettings,
    Swap,
    page_slug,
    page_there,
    project,
    summary_day,
)
from idlbot.domain.rota_text import (
    day_label,
    excused_dm,
    replaced_dm,
    swap_answer_dm,
    swap_request_dm,
    who,
    writer_dm,
)
from idlbot.domain.schedule import ClassMeeting, class_meetings
from idlbot.domain.usernames import normalize_username
from idlbot.ports.outbox import Outbox
from idlbot.ports.rota import Changed, RotaStore, RotaView

log = logging.getLogger(__name__)

UPCOMING = 3
"""How many coming classes `/idl rota` shows."""


class RotaService:
    def __init__(
        self,
        store: RotaStore,
        outbox: Outbox,
        course: Course,
        settings: SummarySettings,
        *,
        students: Callable[[], Awaitable[list[Student]]],
        user_id: Callable[[str], Awaitable[str | None]],
        staff: Collection[str],
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.course = course
        self._outbox = outbox
        self._students = students
        self._user_id = user_id
        self.staff = frozenset(normalize_username(s) for s in staff)
        self._wake = wake
        self.meetings: tuple[ClassMeeting, ...] = class_meetings(course)

    # --- reading --------------------------------------------------------------------

    def classes(self) -> tuple[date, ...]:
        return tuple(m.day for m in self.meetings)

    def meeting(self, day: date) -> ClassMeeting | None:
        return next((m for m in self.meetings if m.day == day), None)

    def next_meeting(self, day: date) -> ClassMeeting | None:
        return next((m for m in self.meetings if m.day > day), None)

    def slug(self, day: date) -> str:
        return page_slug(self.settings.wiki_prefix, day)

    async def roster(self) -> dict[str, Student]:
        """Who can write: active students on the roster, staff left out."""
        found = await self._students()
        return {s.mattermost: s for s in found if s.active and s.mattermost not in self.staff}

    async def state(self) -> RotaState:
        students = await self.roster()
        return RotaState(frozenset(students), await self.store.picks(), await self.store.excuses())

    async def page(self, pick: Pick, students: dict[str, Student] | None = None) -> SummaryPage | None:
        """The page that counts for `pick`'s class, if GitLab reported one."""
        if students is None:
            students = {s.mattermost: s for s in await self._students()}
        writer = students.get(pick.writer)
        pages = [p for p in await self.store.pages() if p.day == pick.day]
        return page_there(pages, writer.gitlab if writer else None, self.staff)

    async def view(self, now: datetime) -> RotaView:
        state = await self.state()
        coming = [m.day for m in self.meetings if m.start > now][:UPCOMING]
        students = {s.mattermost: s for s in await self._students()}
        history = []
        for m in reversed(self.meetings):
            pick = state.picks.get(m.day)
            if m.start <= now and pick is not None:
                found = await self.page(pick, students)
                history.append((pick, found.slug if found else None))
        return RotaView(tuple(project(state, coming)), tuple(history), self.settings.wiki_prefix)

    # --- the pick -------------------------------------------------------------------

    async def ensure_pick(self, day: date, now: datetime) -> Pick | None:
        """The stored pick of `day`, made now if there is none; None if nobody can write."""
        state = await self.state()
        if day in state.picks:
            return state.picks[day]
        writer = state.pick(day)
        if writer is None:
            return None
        pick = await self.store.insert_pick(Pick(day, writer), now=now)
        log.info("rota: %s writes the summary of %s (%s)", pick.writer, day, pick.how)
        return pick

    async def dm(self, key: str, username: str, text: str, now: datetime) -> str | None:
        """Queue a DM under `<key>:<user id>`; the user id, None if they have no account."""
        user = await self._user_id(username)
        if user is None:
            log.warning("rota: @%s has no Mattermost account; not told %s", username, key)
            return None
        await self._outbox.enqueue(key=f"{key}:{user}", message=text, now=now, dm_user_id=user)
        if self._wake is not None:
            self._wake()
        return user

    async def tell_writer(self, pick: Pick, now: datetime, key: str | None = None) -> str | None:
        nxt = self.next_meeting(pick.day)
        text = writer_dm(pick.day, self.slug(pick.day), nxt.start if nxt else None)
        return await self.dm(key or f"rota:{pick.day}:r{pick.revision}", pick.writer, text, now)

    def _not_past(self, day: date, now: datetime) -> None:
        meeting = self.meeting(day)
        if meeting is None:
            raise UserError(f"There is no class on {day_label(day)}.")
        if meeting.start <= now:
            raise UserError(
                f"The class on {day_label(day)} has already started; its writer can no longer change."
            )

    async def _student(self, username: str) -> str:
        name = normalize_username(username)
        if name not in await self.roster():
            raise UserError(f"{who(name)} is not an active student on the roster.")
        return name

    async def _set_writer(self, pick: Pick, writer: str, how: How, now: datetime) -> Pick:
        changed = await self.store.change_writer(pick.day, writer, how, revision=pick.revision, now=now)
        if changed is None:
            raise UserError(
                f"The pick of {day_label(pick.day)} changed just now; look again with `/idl rota`."
            )
        return changed

    # --- staff ----------------------------------------------------------------------

    async def assign(self, day: date, username: str, *, by: str, now: datetime) -> Changed:
        self._not_past(day, now)
        writer = await self._student(username)
        stored = (await self.store.picks()).get(day)
        told: list[str] = []
        if stored is None:
            pick = await self.store.insert_pick(Pick(day, writer, "assigned"), now=now)
            won = (pick.writer, pick.how, pick.revision) == (writer, "assigned", 1)
            stored = None if won else pick  # else another process picked it just now
        if stored is not None:
            if stored.writer == writer:
                return Changed(stored, (), "already")
            pick = await self._set_writer(stored, writer, "assigned", now)
            if stored.announced or stored.how != "auto":  # they were told they write it
                await self.dm(
                    f"rota:{day}:r{pick.revision}:replaced", stored.writer, replaced_dm(day, writer), now
                )
                told.append(stored.writer)
        await self.tell_writer(pick, now)
        log.info("rota: %s assigned %s to %s", by, writer, day)
        return Changed(pick, (writer, *told))

    async def excuse(self, username: str, day: date, *, by: str, now: datetime) -> Changed:
        name = await self._student(username)
        await self.store.add_excuse(day, name, by=by, now=now)
        state = await self.state()
        pick = state.picks.get(day)
        meeting = self.meeting(day)
        if pick is None or pick.writer != name or meeting is None or meeting.start <= now:
            return Changed(pick)
        new = state.pick(day)
        if new is None:
            await self.dm(f"rota:{day}:r{pick.revision}:excused", name, excused_dm(day, None), now)
            return Changed(pick, (name,), "nobody else")
        changed = await self._set_writer(pick, new, "auto", now)
        await self.dm(f"rota:{day}:r{changed.revision}:excused", name, excused_dm(day, new), now)
        await self.tell_writer(changed, now)
        return Changed(changed, (name, new))

    # --- swaps ----------------------------------------------------------------------

    async def swap(self, day: date, asker: str, other: str, *, now: datetime) -> Changed:
        self._not_past(day, now)
        pick = await self.ensure_pick(day, now)
        me = normalize_username(asker)
        if pick is None or pick.writer != me:
            writer = f" ({who(pick.writer)})" if pick else ""
            raise Forbidden(
                f"Only the writer of the summary of {day_label(day)}{writer} can ask for a swap; "
                "staff change it with `/idl rota assign`."
            )
        name = await self._student(other)
        if name == me:
            raise UserError("Ask another student: you are already the writer.")
        if name in (await self.store.excuses()).get(day, frozenset()):
            raise UserError(f"{who(name)} is excused for {day_label(day)}; ask someone else.")
        swap_id = await self.store.ask_swap(Swap(day, me, name), now=now)
        await self.dm(f"rota:swap:{swap_id}", name, swap_request_dm(day, me), now)
        return Changed(pick, (name,))

    async def answer(self, day: date, username: str, *, accept: bool, now: datetime) -> Changed:
        me = normalize_username(username)
        pending = await self.store.pending_swap(day)
        if pending is None or pending.other != me:
            raise UserError(
                f"No swap of the summary of {day_label(day)} is waiting for you; its writer asks "
                f"with `/idl rota swap {day.isoformat()} @you`."
            )
        pick = (await self.store.picks()).get(day)
        meeting = self.meeting(day)
        if pick is None or pick.writer != pending.asker or meeting is None or meeting.start <= now:
            await self.store.answer_swap(day, me, "cancelled", now=now)
            raise UserError(
                f"That request is void: the class on {day_label(day)} started or its writer changed."
            )
        settled = await self.store.answer_swap(day, me, "accepted" if accept else "declined", now=now)
        if settled is None:
            raise UserError("That request was answered just now.")
        if accept:
            pick = await self._set_writer(pick, me, "swapped", now)
        text = swap_answer_dm(day, me, accept)
        await self.dm(f"rota:swap:{settled.id}:answer", pending.asker, text, now)
        return Changed(pick, (pending.asker,), "accepted" if accept else "declined")

    # --- GitLab -------------------------------------------------------------------

    async def on_wiki(self, creation: WikiCreation) -> bool:
        """Record a page under the prefix (any author: who counts is decided when read)."""
        day = summary_day(creation.slug, self.settings.wiki_prefix)
        if day is None:
            return False
        page = SummaryPage(day, creation.slug.strip("/"), creation.author)
        return await self.store.record_page(page, created_at=creation.created_at)
