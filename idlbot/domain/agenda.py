"""The class agenda: which class a cutoff belongs to, what a freeze includes, how it reads.
(Over 300 lines: ranking, freeze and rendering share the agenda's one set of values.)

Pure and synchronous, so every rule below is tested with literal values.

**Which class.** Config has no lecture weekday, but `course.start` is documented as the
first lecture (Wednesday 10 Oct 2018), so lectures are on `course.start`'s weekday.
Each lecture day that is not lecture-free is a class; its cutoff is the last
`cutoff_weekday` `cutoff_time` on or before it (at most 6 days back; on the class day
itself if the weekdays coincide). The class date (ISO, "2018-10-17") keys everything:
the frozen row, the outbox key `agenda:<date>`, the wiki page `agenda/<date>` and the
label `agenda::<date>`. A lecture-free class day has no class and hence no freeze;
classes whose cutoff falls before the course starts are left out.

**Ranking.** The issue says "upvotes, then comments, then age"; GitLab's
`order_by=popularity` is upvotes desc with ties by id desc (newest first), and the
acceptance test demands the frozen agenda match GitLab's order *exactly, including
ties*. So GitLab's order is the only order, everywhere: the list is never re-sorted
here (re-sorting by iid would differ from id order for imported issues). The live view
uses the same order, so what students watch before the cutoff is what gets frozen;
comments and age are shown next to each question, and tied positions are shown as
"=3.", rather than used to reorder and then contradict the freeze.

**What a freeze includes.** Questions filed after the cutoff wait for the next class.
A question marked done (or labelled `agenda::discussed` by hand) never returns; one
skipped for this class is left out of it. The top `top` remaining questions are
included, plus every question of the previous agenda that is still open and eligible
("carried over": it keeps its place in the ranking and is marked, and it is included
even below the top N, so an undiscussed question cannot silently drop out).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from idlbot.domain.course import Course
from idlbot.domain.defuse import defuse
from idlbot.domain.schedule import wall_clock
from idlbot.domain.settings import AgendaSettings
from idlbot.domain.timefmt import format_clock, relative

DISCUSSED_LABEL = "agenda::discussed"


def class_label(class_date: date) -> str:
    """`agenda::2018-10-17`: a scoped label, so on GitLab Premium it also replaces the
    previous class's label (one `agenda::` scope per issue)."""
    return f"agenda::{class_date.isoformat()}"


def wiki_title(class_date: date) -> str:
    return f"agenda/{class_date.isoformat()}"


def outbox_key(class_date: date) -> str:
    return f"agenda:{class_date.isoformat()}"


class QuestionLike(Protocol):
    """What the agenda reads of an open issue (adapters' `Question` has exactly this)."""

    @property
    def iid(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def author(self) -> str: ...
    @property
    def upvotes(self) -> int: ...
    @property
    def notes(self) -> int: ...
    @property
    def labels(self) -> tuple[str, ...]: ...
    @property
    def web_url(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


@dataclass(frozen=True)
class ClassSlot:
    """One class and the cutoff that freezes its agenda."""

    date: date
    cutoff: datetime  # aware

    @property
    def key(self) -> str:
        return self.date.isoformat()


@dataclass(frozen=True)
class AgendaItem:
    """A question as frozen: the values at freeze time, so the post and the wiki page
    can be rebuilt identically after a restart."""

    iid: int
    title: str
    author: str
    upvotes: int
    notes: int
    web_url: str
    created_at: datetime
    carried_over: bool = False

    @classmethod
    def of(cls, q: QuestionLike, *, carried_over: bool = False) -> AgendaItem:
        return cls(q.iid, q.title, q.author, q.upvotes, q.notes, q.web_url, q.created_at, carried_over)

    def to_json(self) -> dict[str, Any]:
        return {
            "iid": self.iid, "title": self.title, "author": self.author, "upvotes": self.upvotes,
            "notes": self.notes, "web_url": self.web_url, "created_at": self.created_at.isoformat(),
            "carried_over": self.carried_over,
        }  # fmt: skip

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AgendaItem:
        return cls(
            int(d["iid"]), str(d["title"]), str(d["author"]), int(d["upvotes"]), int(d["notes"]),
            str(d["web_url"]), datetime.fromisoformat(str(d["created_at"])), bool(d["carried_over"]),
        )  # fmt: skip


@dataclass(frozen=True)
class Agenda:
    """`items`: what the class discusses, in GitLab's order; `ranking`: the iids of every
    eligible question in GitLab's order (kept to prove the order, and for the wiki)."""

    items: tuple[AgendaItem, ...]
    ranking: tuple[int, ...]

    @property
    def carried(self) -> int:
        return sum(1 for i in self.items if i.carried_over)


@dataclass(frozen=True)
class FrozenAgenda:
    """A stored freeze. `revision` grows on each manual re-freeze; the `*_revision`
    fields say which revision the post, the wiki page and the labels already show, so a
    crash or a GitLab outage leaves a row that the next `freeze_due` completes."""

    slot: ClassSlot
    frozen_at: datetime
    agenda: Agenda
    revision: int = 1
    post_revision: int = 0
    wiki_revision: int = 0
    labels_revision: int = 0
    labeled: frozenset[int] = field(default_factory=frozenset)  # iids carrying class_label
    last_error: str | None = None

    @property
    def complete(self) -> bool:
        return self.revision == self.post_revision == self.wiki_revision == self.labels_revision


# ---- the calendar ---------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def class_slots(course: Course, settings: AgendaSettings) -> tuple[ClassSlot, ...]:
    """Every class of the term with its cutoff, by date (a term is ~17 rows; cached)."""
    lecture = course.start.weekday()
    slots: list[ClassSlot] = []
    day = course.start
    while day <= course.end:
        if day.weekday() == lecture and course.is_lecture_free(day) is None:
            cutoff_day = day - timedelta(days=(day.weekday() - settings.cutoff_weekday) % 7)
            if cutoff_day >= course.start:
                slots.append(ClassSlot(day, wall_clock(cutoff_day, settings.cutoff_time, course.tz)))
        day += timedelta(days=1)
    return tuple(slots)


def current_slot(course: Course, settings: AgendaSettings, now: datetime) -> ClassSlot | None:
    """The class `/idl agenda` and the instructor commands are about: the first one on
    or after today (course zone), so on class day it is still today's class."""
    today = now.astimezone(course.tz).date()
    return next((s for s in class_slots(course, settings) if s.date >= today), None)


def due_slots(course: Course, settings: AgendaSettings, now: datetime) -> list[ClassSlot]:
    """Classes whose cutoff has passed but which have not happened yet (a freeze missed
    while the bot was down is still useful until the class day ends), oldest first."""
    today = now.astimezone(course.tz).date()
    return [s for s in class_slots(course, settings) if s.cutoff <= now and s.date >= today]


# ---- building ---------------------------------------------------------------------------
def eligible(
    questions: Iterable[QuestionLike], *, cutoff: datetime, done: Collection[int], skipped: Collection[int]
) -> list[QuestionLike]:
    """GitLab's order, minus late, discussed and skipped questions."""
    return [
        q
        for q in questions
        if q.created_at <= cutoff
        and q.iid not in done
        and q.iid not in skipped
        and DISCUSSED_LABEL not in q.labels
    ]


def build(
    questions: Sequence[QuestionLike],
    *,
    cutoff: datetime,
    top: int,
    previous: Collection[int] = (),
    done: Collection[int] = (),
    skipped: Collection[int] = (),
) -> Agenda:
    """The agenda for one class. `questions` must be in GitLab's popularity order (the
    reconciliation query's); `previous` are the iids of the last frozen agenda."""
    ranked = eligible(questions, cutoff=cutoff, done=done, skipped=skipped)
    carried = set(previous)
    items = tuple(
        AgendaItem.of(q, carried_over=q.iid in carried)
        for pos, q in enumerate(ranked)
        if pos < top or q.iid in carried
    )
    return Agenda(items, tuple(q.iid for q in ranked))


# ---- rendering --------------------------------------------------------------------------
def _positions(upvotes: Sequence[int]) -> list[str]:
    """Competition ranking shown as "1.", "=2.", "=2.", "4.": equal upvotes are a tie,
    whatever order GitLab lists them in."""
    labels: list[str] = []
    for n, votes in enumerate(upvotes):
        first = n
        while first > 0 and upvotes[first - 1] == votes:
            first -= 1
        tied = (first < n) or (n + 1 < len(upvotes) and upvotes[n + 1] == votes)
        labels.append(f"{'=' if tied else ''}{first + 1}.")
    return labels


def _lines(items: Sequence[AgendaItem]) -> list[str]:
    out = []
    for pos, i in zip(_positions([i.upvotes for i in items]), items, strict=True):
        comments = f"{i.notes} comment{'' if i.notes == 1 else 's'}"
        carried = " · **carried over**" if i.carried_over else ""
        out.append(f"{pos} [#{i.iid} {defuse(i.title)}]({i.web_url}) · 👍 {i.upvotes} · {comments} · "
                   f"{defuse(i.author)}{carried}")  # fmt: skip
    return out


def render_frozen(record: FrozenAgenda, tz: ZoneInfo) -> str:
    """The channel post and the wiki page (the same text: one source, no drift)."""
    slot, agenda = record.slot, record.agenda
    title = f"#### Class agenda for {_day(slot.date)}"
    as_of = min(slot.cutoff, record.frozen_at)  # an instructor may freeze before the cutoff
    lines = [title, f"Questions on file at {format_clock(as_of, tz)}, by upvotes.", ""]
    if not agenda.items:
        lines.append("No questions were filed for this class.")
    lines.extend(_lines(agenda.items))
    if agenda.carried:
        lines += ["", f"{agenda.carried} carried over from the last class (still open, not yet discussed)."]
    if record.revision > 1:
        lines += ["", f"_Updated (revision {record.revision})._"]
    return "\n".join(lines)


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")  # fmt: skip


def _day(day: date) -> str:
    """Spelled out by hand ("Wednesday 17 October 2018"): strftime follows the locale."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def render_live(
    questions: Sequence[QuestionLike],
    *,
    slot: ClassSlot | None,
    top: int,
    now: datetime,
    tz: ZoneInfo,
    frozen: FrozenAgenda | None = None,
) -> str:
    """`/idl agenda`: the frozen agenda once the cutoff passed, else the live top N."""
    if frozen is not None:
        return render_frozen(frozen, tz) + f"\n\nFrozen {format_clock(frozen.frozen_at, tz)}."
    if slot is None:
        return "There is no class left this term, so there is no agenda to build."
    items = [AgendaItem.of(q) for q in questions[:top]]
    left = relative(slot.cutoff, now, tz)
    lines = [
        f"#### Questions for {_day(slot.date)}: top {len(items)} of {len(questions)}",
        f"The agenda freezes at {format_clock(slot.cutoff, tz)} ({left}).",
        "",
    ]
    empty = "No questions yet. File one as an issue, and upvote the ones you care about."
    lines.extend(_lines(items) or [empty])
    return "\n".join(lines)
