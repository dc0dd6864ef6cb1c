"""In-memory fakes of the feature ports: reminders and calendar feeds, the class agenda
(GitLab), announcements, cluster maintenance and GPU jobs (Slurm). Same slice of the 2018
course as `fakes.py`: Monday 22 October 2018, 09:00 Berlin; the next class is Wednesday
24 October, whose questions freeze on Tuesday at 12:00."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from idlbot.domain import agenda as dom
from idlbot.domain.announce import Announcement, Notify
from idlbot.domain.course import Course
from idlbot.domain.errors import NotFound, UserError
from idlbot.domain.job_reasons import MaintWindow
from idlbot.domain.jobs import JobRecord, ReservationConflict
from idlbot.domain.maintenance import Window, key_base
from idlbot.domain.reminders import CustomReminder
from idlbot.domain.settings import AgendaSettings
from idlbot.ports.agenda import AgendaView, FreezeResult
from idlbot.ports.announce import Added, Draft
from idlbot.ports.jobs import DEFAULT_MODE, NotifyMode
from idlbot.ports.reminders import FiringRecord, PlannedFiring

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2018, month, day, hour, minute, tzinfo=BERLIN)


class FakeReminders:
    """`Reminders`: the configured reminders of week 2 plus whatever `add` adds."""

    PLANNED = (
        PlannedFiring("rem:questions:2018-10-23:-24h", "questions", berlin(10, 22, 12), "~questions",
                      "Questions for Wednesday's class are due tomorrow at 12:00."),
        PlannedFiring("rem:questions:2018-10-23:-2h", "questions", berlin(10, 23, 10), "~questions",
                      "Two hours left to file questions for Wednesday's class."),
        PlannedFiring("rem:assignments:a02:-2h", "assignments", berlin(10, 23, 21, 59), "~assignments",
                      "Assignment 2 is due in two hours (23:59)."),
    )  # fmt: skip

    def __init__(self, course: Course, channels: dict[str, str] | None = None) -> None:
        self._course = course
        self._channels = channels or {}
        self.customs: dict[int, CustomReminder] = {}
        self.muted: set[str] = set()
        self.tokens: dict[str, int] = {}

    def _planned(self, r: CustomReminder) -> PlannedFiring:
        return PlannedFiring(f"custom:{r.id}", "custom", r.first, f"~{r.channel}", r.text, custom_id=r.id)

    async def upcoming(self, now: datetime, limit: int = 10) -> list[PlannedFiring]:
        custom = [self._planned(r) for r in self.customs.values() if not r.cancelled]
        found = [f for f in (*self.PLANNED, *custom) if f.fire_at > now]
        return sorted(found, key=lambda f: f.fire_at)[:limit]

    async def add(
        self,
        *,
        kind: Literal["once", "weekly"],
        first: datetime,
        channel: str,
        text: str,
        created_by: str,
        created_by_id: str,
        now: datetime,
    ) -> CustomReminder:
        reminder = CustomReminder(len(self.customs) + 1, kind, first, channel, text, created_by,
                                  created_by_id=created_by_id)  # fmt: skip
        self.customs[reminder.id] = reminder
        return reminder

    def channel_name(self, typed: str) -> str:
        name = typed.removeprefix("~").lower()
        return self._channels.get(name, name)

    async def custom(self, reminder_id: int) -> CustomReminder | None:
        return self.customs.get(reminder_id)

    async def cancel(self, reminder_id: int) -> CustomReminder | None:
        found = self.customs.get(reminder_id)
        if found is None:
            return None
        self.customs[reminder_id] = replace(found, cancelled=True)
        return self.customs[reminder_id]

    async def preview(self, ident: str, now: datetime) -> PlannedFiring | None:
        if ident.isdigit() and int(ident) in self.customs:
            return self._planned(self.customs[int(ident)])
        return next((f for f in self.PLANNED if f.key == ident), None)

    async def log(self, limit: int = 20) -> list[FiringRecord]:
        sent = FiringRecord("rem:assignments:a02:-48h", "assignments", berlin(10, 21, 23, 59), "~assignments",
                            "sent", berlin(10, 21, 23, 59), None, "sent", 0)  # fmt: skip
        nudge = FiringRecord("rem:nudges:a01:-6h", "nudges", berlin(10, 16, 17, 59), "DMs", "sent",
                             berlin(10, 16, 17, 59), None, None, 14)  # fmt: skip
        return [sent, nudge][:limit]

    async def set_muted(self, user_id: str, muted: bool, now: datetime) -> None:
        (self.muted.add if muted else self.muted.discard)(user_id)

    async def calendar_link(self, user_id: str, username: str, now: datetime, *, reset: bool = False) -> str:
        self.tokens[user_id] = self.tokens.get(user_id, 0) + (1 if reset else 0)
        return f"https://idlbot.example.org/calendar/{username}-{self.tokens[user_id]:02d}.ics"


@dataclass(frozen=True)
class Question:
    """An open GitLab issue, as `QuestionLike` reads it."""

    iid: int
    title: str
    author: str
    upvotes: int
    notes: int
    created_at: datetime
    labels: tuple[str, ...] = ("question",)

    @property
    def web_url(self) -> str:
        return f"https://code.ovgu.de/stober/idl2018/issues/{self.iid}"


QUESTIONS = (
    Question(12, "Why does the loss go up when I raise the learning rate?", "alice", 7, 3,
             berlin(10, 18, 14)),
    Question(15, "Is batch normalisation applied at test time too?", "bob", 4, 1, berlin(10, 19, 9, 30)),
    Question(9, "What does `requires_grad=False` change for the optimiser?", "carol", 4, 0,
             berlin(10, 17, 20)),
    Question(17, "How large may the a02 plots be?", "dave", 1, 2, berlin(10, 21, 22, 5)),
)  # fmt: skip


class FakeAgenda:
    """`Agenda` on four open questions, with the domain's calendar and ranking."""

    def __init__(self, course: Course, settings: AgendaSettings, questions: Sequence[Question] = QUESTIONS):
        self._course = course
        self._settings = settings
        self.questions = list(questions)
        self.skipped: set[int] = set()
        self.done_iids: set[int] = set()
        self.frozen: dict[str, dom.FrozenAgenda] = {}

    def _slot(self, now: datetime) -> dom.ClassSlot | None:
        return dom.current_slot(self._course, self._settings, now)

    def _open(self) -> list[Question]:
        return [q for q in self.questions if q.iid not in self.skipped | self.done_iids]

    def _build(self, slot: dom.ClassSlot, now: datetime, revision: int = 1) -> dom.FrozenAgenda:
        agenda = dom.build(self.questions, cutoff=max(slot.cutoff, now), top=self._settings.top,
                           done=self.done_iids, skipped=self.skipped)  # fmt: skip
        return dom.FrozenAgenda(slot, now, agenda, revision=revision)

    async def view(self, now: datetime) -> AgendaView:
        slot = self._slot(now)
        frozen = self.frozen.get(slot.key) if slot is not None else None
        return AgendaView(slot, self._open(), frozen, self._settings.top)

    async def preview(self, now: datetime) -> dom.FrozenAgenda | None:
        slot = self._slot(now)
        return self._build(slot, now) if slot is not None else None

    async def freeze(self, now: datetime, *, by: str) -> FreezeResult | None:
        slot = self._slot(now)
        if slot is None:
            return None
        old = self.frozen.get(slot.key)
        record = self._build(slot, now, revision=1 if old is None else old.revision + 1)
        self.frozen[slot.key] = record
        return FreezeResult(record, created=old is None)

    def _known(self, iid: int) -> None:
        if iid not in {q.iid for q in self.questions}:
            raise NotFound(f"There is no issue #{iid} among the open questions.")

    async def skip(self, iid: int, now: datetime, *, by: str) -> tuple[dom.ClassSlot, bool, bool]:
        self._known(iid)
        slot = self._slot(now)
        if slot is None:
            raise UserError("There is no class left this term.")
        new = iid not in self.skipped
        self.skipped.add(iid)
        return slot, new, slot.key in self.frozen

    async def done(self, iid: int, now: datetime, *, by: str) -> tuple[bool, str | None]:
        self._known(iid)
        new = iid not in self.done_iids
        self.done_iids.add(iid)
        return new, None


class FakeAnnouncements:
    """`Announcements` in memory; announcement 1 (instructor jens, Friday 08:00) is scheduled."""

    def __init__(self, channels: dict[str, str]) -> None:
        self._channels = channels
        first = Announcement(1, "scheduled", "chan-town-square", "town-square",
                             "Friday's exercise sessions move to G29-307.", "none", berlin(10, 26, 8),
                             "jens", "id-jens", berlin(10, 21, 18))  # fmt: skip
        self.items: dict[int, Announcement] = {1: first}

    def channel_name(self, typed: str) -> str:
        name = typed.removeprefix("~").lower()
        return self._channels.get(name, name)

    async def prepare(
        self,
        *,
        channel_name: str,
        text: str,
        notify: Notify,
        post_at: datetime | None,
        by: str,
        by_id: str,
        now: datetime,
    ) -> Draft:
        if channel_name not in self._channels.values():
            raise UserError(f"There is no channel ~{channel_name}.")
        a = Announcement(len(self.items) + 1, "draft", f"chan-{channel_name}", channel_name, text, notify,
                         post_at, by, by_id, now)  # fmt: skip
        self.items[a.id] = a
        buttons = [{"id": "post", "name": "Post"}, {"id": "discard", "name": "Cancel"}]
        return Draft(a, {"attachments": [{"actions": buttons}]})

    async def confirm(self, announcement_id: int, *, by_id: str, now: datetime) -> Announcement:
        a = self.items.get(announcement_id)
        if a is None or a.state != "draft" or a.created_by_id != by_id:
            raise UserError(f"There is no draft {announcement_id} of yours to post.")
        later = a.post_at is not None and a.post_at > now
        self.items[a.id] = replace(a, state="scheduled" if later else "queued")
        return self.items[a.id]

    async def scheduled(self) -> list[Announcement]:
        return [a for a in self.items.values() if a.state == "scheduled"]

    async def cancel(self, announcement_id: int, *, now: datetime) -> Announcement:
        a = self.items.get(announcement_id)
        if a is None or a.state not in ("draft", "scheduled"):
            raise UserError(f"There is no announcement {announcement_id} to cancel.")
        self.items[a.id] = replace(a, state="cancelled")
        return self.items[a.id]


class FakeMaintenance:
    """`Maintenance` in memory; one window (a kernel update on Friday 2 November) is planned.
    Running jobs in `busy` make `add` refuse, as Slurm does without IGNORE_JOBS."""

    def __init__(self) -> None:
        start, end = berlin(11, 2, 7), berlin(11, 2, 12)
        name = f"maint_{start.astimezone(UTC):%Y%m%d_%H%M}"
        planned = Window(name, start, end, key_base(name, start), "kernel update", "bot", "jens",
                         announced_at=berlin(10, 19, 15))  # fmt: skip
        self.open: dict[str, Window] = {name: planned}
        self.busy: list[JobRecord] = []

    async def add(
        self, start: datetime, end: datetime, reason: str, *, by: str, ignore_jobs: bool, now: datetime
    ) -> Added | ReservationConflict:
        name = f"maint_{start.astimezone(UTC):%Y%m%d_%H%M}"
        if self.busy and not ignore_jobs:
            return ReservationConflict(name, "Requested nodes are busy", tuple(self.busy))
        window = Window(name, start, end, key_base(name, start), reason, "bot", by, announced_at=now)
        self.open[name] = window
        return Added(window, announced=True)

    async def windows(self, now: datetime) -> list[Window]:
        return sorted((w for w in self.open.values() if not w.closed), key=lambda w: w.start)

    async def cancel(self, name: str, *, now: datetime) -> Window:
        w = self.open.get(name)
        if w is None or w.closed:
            raise UserError(f"There is no open maintenance window `{name}`.")
        self.open[name] = replace(w, cancelled_at=now)
        return self.open[name]


def _jobs() -> list[JobRecord]:
    running = JobRecord("idl-gpu", 4711, berlin(10, 22, 8, 7), "al123", "train-resnet18", "RUNNING",
                        elapsed=timedelta(minutes=50), gpus=1, start=berlin(10, 22, 8, 10))  # fmt: skip
    ended = JobRecord("idl-gpu", 4702, berlin(10, 21, 22, 58), "al123", "a02-mlp-sweep", "COMPLETED",
                      elapsed=timedelta(hours=1, minutes=45), gpus=2, start=berlin(10, 21, 23, 2),
                      end=berlin(10, 22, 0, 47))  # fmt: skip
    waiting = JobRecord("idl-gpu", 4801, berlin(10, 22, 8, 30), "bo123", "b-sweep", "PENDING",
                        reason="Priority", time_limit=timedelta(hours=2))  # fmt: skip
    return [running, ended, waiting]


@dataclass
class FakeJobs:
    """`Jobs`: alice is `al123` on the cluster, with one job running and one that ended."""

    accounts: dict[str, str] = field(default_factory=lambda: {"alice": "al123"})
    modes: dict[str, NotifyMode] = field(default_factory=dict)
    records: list[JobRecord] = field(default_factory=_jobs)

    async def cluster_user(self, username: str) -> str | None:
        return self.accounts.get(username.lower())

    async def notify_mode(self, cluster_user: str) -> NotifyMode:
        return self.modes.get(cluster_user, DEFAULT_MODE)

    async def set_notify_mode(
        self, cluster_user: str, *, user_id: str, mode: NotifyMode, now: datetime
    ) -> None:
        self.modes[cluster_user] = mode

    async def my_jobs(self, cluster_user: str, *, since: datetime) -> list[JobRecord]:
        mine = [r for r in self.records if r.user == cluster_user]
        return [r for r in mine if not r.finished] + [
            r for r in mine if r.finished and (r.end or since) >= since
        ]

    async def queued(self, job_id: str) -> list[JobRecord]:
        return [r for r in self.records if r.display_id == job_id or str(r.array_job_id) == job_id]

    async def history(self, job_id: int) -> list[JobRecord]:
        return []

    async def maintenance_windows(self) -> list[MaintWindow]:
        return []


class FakeCourseChoices:
    """The `courses` port of a deployment of two courses: everyone is in both."""

    def __init__(self) -> None:
        from idlbot.ports.course_choice import CourseRef

        self.every = [
            CourseRef("main", "Introduction to Deep Learning"),
            CourseRef("nlp", "Natural Language Processing"),
        ]
        self.chosen: dict[str, str] = {}

    def courses(self) -> list[Any]:
        return list(self.every)

    async def courses_of(self, username: str) -> list[Any]:
        return list(self.every)

    async def current(self, user_id: str, username: str) -> Any:
        wanted = self.chosen.get(user_id, "main")
        return next(c for c in self.every if c.id == wanted)

    async def choose(self, user_id: str, course_id: str) -> None:
        self.chosen[user_id] = course_id
