"""AgendaService: the live ranking, the freeze at the cutoff, and the instructor commands.
(Over 300 lines: the live ranking and the freeze share one cached GitLab reading and its lock.)

Freshness. No webhook carries upvote counts, so a hook only says "something about
issue N changed". The service answers every accepted hook with one coalesced refresh
of the whole list (`open_questions`: one request per page, none per issue): hooks that
arrive while a refresh runs fold into a single follow-up, so a storm of hundreds costs
two list queries, and the ranking is always exactly GitLab's. A delivery whose
Idempotency-Key was seen before (in the shared delivery keys, scope `HOOK_SCOPE`) is
dropped before it costs anything; housekeeping prunes old keys.

The freeze (`freeze_due`, called at start and periodically by the scheduler's
catch-up) is crash-safe by construction:
1. re-read every open question first, so a missed hook cannot change the agenda;
2. INSERT the list keyed by class date (the database picks one list per class);
3. publish, each step idempotent and recorded per revision in the same row: the post
   goes through the outbox under `agenda:<date>` (posted once; a re-freeze edits it),
   the wiki page `agenda/<date>` is an upsert, labels are `add_labels`.
python-gitlab already retries 429 (honouring Retry-After) and 5xx inside one call; if
it still fails, the row stays incomplete and the next `freeze_due` finishes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta

from idlbot.clock import Clock
from idlbot.domain import agenda as dom
from idlbot.domain.agenda import ClassSlot, FrozenAgenda, QuestionLike
from idlbot.domain.course import Course
from idlbot.domain.errors import NotFound, Unavailable, UserError
from idlbot.domain.gitlab import QuestionChanged
from idlbot.domain.settings import AgendaSettings
from idlbot.ports.agenda import AgendaGitLab, AgendaOutbox, AgendaView, FreezeResult, PostEditor
from idlbot.ports.agenda_store import AgendaStore
from idlbot.ports.deliveries import DeliveryKeys
from idlbot.tasks import TaskPool

log = logging.getLogger(__name__)

HOOK_SCOPE = "gitlab:agenda"
"""The agenda's scope in the delivery keys (migration 0007 copied the old keys into it)."""


class AgendaService:
    """Implements `idlbot.ports.agenda.Agenda`; `channel_id()` resolves the configured
    channel purpose to a Mattermost channel id (None: no such channel)."""

    def __init__(
        self,
        *,
        gitlab: AgendaGitLab,
        store: AgendaStore,
        deliveries: DeliveryKeys,
        outbox: AgendaOutbox,
        editor: PostEditor,
        channel_id: Callable[[], Awaitable[str | None]],
        course: Course,
        settings: AgendaSettings,
        clock: Clock,
        wake: Callable[[], None] | None = None,
        resume_days: int = 14,
    ) -> None:
        self._gitlab = gitlab
        self._store = store
        self._deliveries = deliveries
        self._outbox = outbox
        self._editor = editor
        self._channel_id = channel_id
        self.course = course
        self.settings = settings
        self._clock = clock
        self._wake = wake
        self._resume = timedelta(days=resume_days)
        self._lock = asyncio.Lock()
        self._questions: Sequence[QuestionLike] | None = None
        self._refreshed_at: datetime | None = None
        self._dirty = False
        self._tasks = TaskPool()  # the one hook-triggered refresh, under the key "refresh"
        self.refreshes = 0  # list queries made (for tests and metrics)

    # ---- the live ranking ----------------------------------------------------------------
    async def refresh(self) -> Sequence[QuestionLike]:
        """Re-read every open question (the reconciliation query). Serialised, so two
        callers never interleave and the newest list always wins."""
        async with self._lock:
            questions = await self._gitlab.open_questions(self.settings.label)
            self._questions, self._refreshed_at = questions, self._clock.now()
            self.refreshes += 1
            return questions

    async def questions(self) -> Sequence[QuestionLike]:
        """The cached ranking, re-read if older than the reconciliation interval."""
        max_age = timedelta(minutes=self.settings.reconcile_minutes)
        at = self._refreshed_at
        if self._questions is None or at is None or self._clock.now() - at > max_age:
            return await self.refresh()
        return self._questions

    async def on_question(self, event: QuestionChanged, key: str | None) -> bool:
        """A verified Issue/Note/Emoji hook. False: a duplicate delivery (dropped).
        Returns at once; the refresh runs in the background (GitLab wants a fast 2xx)."""
        if key and await self._deliveries.seen(HOOK_SCOPE, key, self._clock.now()):
            log.info("agenda hook %s dropped: duplicate delivery", key)
            return False
        self._dirty = True
        if not self._tasks.in_flight("refresh"):
            self._tasks.spawn(self._refresh_loop(), origin="agenda refresh", key="refresh")
        return True

    async def _refresh_loop(self) -> None:
        while self._dirty:
            self._dirty = False
            try:
                await self.refresh()
            except Unavailable as err:  # GitLab down: one line; the reconciliation repairs it
                log.warning("agenda refresh after a webhook failed (%s); the reconciliation will retry", err)
            except Exception:  # background refresh; the reconciliation repairs a failure
                log.exception("agenda refresh after a webhook failed; the reconciliation will retry")

    async def settle(self) -> None:
        """Wait for a hook-triggered refresh to finish (tests; before a freeze)."""
        await self._tasks.idle()

    async def reconcile(self) -> int:
        """The periodic full re-read. Returns the count."""
        return len(await self.refresh())

    async def count(self) -> int | None:
        """Open questions right now (for the reminders' "N questions so far")."""
        try:
            return len(await self.questions())
        except Exception:  # noqa: BLE001 - a reminder without a count beats no reminder
            return None

    async def close(self) -> None:
        await self._tasks.stop()

    # ---- building ------------------------------------------------------------------------
    async def _build(self, slot: ClassSlot, questions: Sequence[QuestionLike]) -> dom.Agenda:
        prev = await self._store.previous(slot.date)
        return dom.build(
            questions,
            cutoff=slot.cutoff,
            top=self.settings.top,
            previous={i.iid for i in prev.agenda.items} if prev else (),
            done=await self._store.done(),
            skipped=await self._store.skipped(slot.date),
        )

    def _slot(self, now: datetime) -> ClassSlot:
        slot = dom.current_slot(self.course, self.settings, now)
        if slot is None:
            raise UserError("There is no class left this term.")
        return slot

    # ---- the freeze ----------------------------------------------------------------------
    async def freeze_due(self, now: datetime) -> list[FreezeResult]:
        """Finish incomplete publishes, then freeze every class whose cutoff has passed
        and which has no agenda yet. Safe to call any number of times, from any process."""
        results = []
        today = now.astimezone(self.course.tz).date()
        for record in await self._store.incomplete(today - self._resume):
            results.append(await self._publish(record, created=False))
        for slot in dom.due_slots(self.course, self.settings, now):
            if await self._store.get(slot.date) is not None:
                continue
            try:
                results.append(await self._freeze(slot, now, rebuild=False))
            except Unavailable as err:
                log.warning("agenda freeze of %s failed (%s); retrying at the next check", slot.key, err)
            except Exception:  # the list could not be read: nothing frozen, the next call retries
                log.exception("agenda freeze of %s failed; retrying at the next check", slot.key)
        return results

    async def freeze(self, now: datetime, *, by: str) -> FreezeResult | None:
        """`/idl agenda freeze`: freeze the current class now, or rebuild its agenda (with
        today's skips and votes) and edit the one post, page and labels in place."""
        slot = dom.current_slot(self.course, self.settings, now)
        if slot is None:
            return None
        log.info("agenda freeze of %s requested by %s", slot.key, by)
        return await self._freeze(slot, now, rebuild=True)

    async def _freeze(self, slot: ClassSlot, now: datetime, *, rebuild: bool) -> FreezeResult:
        questions = await self.refresh()
        agenda = await self._build(slot, questions)
        existing = await self._store.get(slot.date) if rebuild else None
        if existing is not None:
            record, created = await self._store.rebuild(slot.date, agenda, now), False
        else:
            record, created = await self._store.insert(slot, agenda, now)
        log.info(
            "agenda %s frozen rev %d: %d questions (%d carried over) of %d eligible; created=%s",
            slot.key, record.revision, len(record.agenda.items), record.agenda.carried,
            len(record.agenda.ranking), created,
            extra={"event": "agenda_freeze", "outcome": "created" if created else "existing"},
        )  # fmt: skip
        return await self._publish(record, created=created)

    async def _publish(self, record: FrozenAgenda, *, created: bool) -> FreezeResult:
        day, rev = record.slot.date, record.revision
        text = dom.render_frozen(record, self.course.tz)
        problems: list[str] = []
        post = wiki = labels = None
        labeled: frozenset[int] | None = None
        if record.post_revision < rev:
            try:
                post = rev if await self._post(day, text) else None
                if post is None:
                    problems.append("post: waiting for the first version to be delivered before editing")
            except Exception as err:  # noqa: BLE001 - any failure: recorded, retried by freeze_due
                problems.append(f"post: {err}")
        if record.wiki_revision < rev:
            try:
                await self._gitlab.upsert_wiki_page(dom.wiki_title(day), text)
                wiki = rev
            except Exception as err:  # noqa: BLE001 - recorded, retried by freeze_due
                problems.append(f"wiki: {err}")
        if record.labels_revision < rev:
            try:
                labeled = await self._label(record)
                labels = rev
            except Exception as err:  # noqa: BLE001 - recorded, retried by freeze_due
                problems.append(f"labels: {err}")
        error = "; ".join(problems) or None
        await self._store.published(day, post=post, wiki=wiki, labels=labels, labeled=labeled, error=error)
        if problems:
            log.warning("agenda %s rev %d incomplete: %s", day, rev, error,
                        extra={"event": "agenda_publish", "outcome": "incomplete"})  # fmt: skip
        stored = await self._store.get(day)
        return FreezeResult(stored or record, created, tuple(problems))

    async def _post(self, day: date, text: str) -> bool:
        """True when Mattermost has (or the outbox will deliver) exactly this text."""
        key = dom.outbox_key(day)
        item = await self._outbox.get(key)
        if item is None:
            channel = await self._channel_id()
            if channel is None:
                raise RuntimeError(f"no channel for the agenda purpose '{self.settings.channel}'")
            if await self._outbox.enqueue(key=key, message=text, now=self._clock.now(), channel_id=channel):
                if self._wake is not None:
                    self._wake()
                return True
            item = await self._outbox.get(key)  # another process queued it first
            if item is None:
                return False
        if item.message == text:
            return True  # queued (or delivered) with this very text; the revision is in the text
        if item.post_id is None:
            return False  # an older text is still on its way: edit it once it has an id
        await self._editor.patch_post(item.post_id, text)
        return True

    async def _label(self, record: FrozenAgenda) -> frozenset[int]:
        """Label the included questions, unlabel those a re-freeze dropped. Questions
        deleted in GitLab meanwhile (404) are skipped rather than blocking the rest."""
        label = dom.class_label(record.slot.date)
        want = frozenset(i.iid for i in record.agenda.items)
        changes = [(iid, True) for iid in sorted(want - record.labeled)]
        changes += [(iid, False) for iid in sorted(record.labeled - want)]
        for iid, add in changes:
            try:
                if add:
                    await self._gitlab.set_labels(iid, add=[label])
                else:
                    await self._gitlab.set_labels(iid, remove=[label])
            except Exception as err:
                if getattr(err, "status", None) != 404:
                    raise
                log.warning("agenda label %s: issue #%d is gone", label, iid)
        return want

    # ---- what commands see ------------------------------------------------------------------
    async def view(self, now: datetime) -> AgendaView:
        slot = dom.current_slot(self.course, self.settings, now)
        frozen = await self._store.get(slot.date) if slot is not None else None
        return AgendaView(slot, await self.questions(), frozen, self.settings.top)

    async def preview(self, now: datetime) -> FrozenAgenda | None:
        slot = dom.current_slot(self.course, self.settings, now)
        if slot is None:
            return None
        agenda = await self._build(slot, await self.refresh())
        return FrozenAgenda(slot=slot, frozen_at=now, agenda=agenda, revision=0)

    async def skip(self, iid: int, now: datetime, *, by: str) -> tuple[ClassSlot, bool, bool]:
        slot = self._slot(now)
        new = await self._store.skip(slot.date, iid, by=by, now=now)
        return slot, new, await self._store.get(slot.date) is not None

    async def done(self, iid: int, now: datetime, *, by: str) -> tuple[bool, str | None]:
        """GitLab first, so a wrong number (404) is refused; a GitLab outage still
        records the decision (the agenda obeys our table) and says so."""
        problem = None
        try:
            if self.settings.close_on_done:
                await self._gitlab.close_issue(iid)
            else:
                await self._gitlab.set_labels(iid, add=[dom.DISCUSSED_LABEL])
        except Exception as err:  # noqa: BLE001 - reported to the instructor, decision kept
            if getattr(err, "status", None) == 404:
                raise NotFound(f"There is no issue #{iid} in the course project.") from None
            problem = str(err)
        return await self._store.mark_done(iid, by=by, now=now), problem
