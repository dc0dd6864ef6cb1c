"""The session-summary rota: after each class one student writes a short summary on the
course wiki and recaps it at the start of the next class. Who, when, and whether the page
is there, as pure functions.

Why the pick looks like this:

* **Fair.** The writer is whoever has written (been picked) the fewest times among the
  students who can be picked for that class: active, on the roster, a student (not staff),
  not excused for that date. So nobody writes twice before everyone who was available
  wrote once. Every stored pick counts, whatever made it: the automatic pick, a staff
  assignment, an accepted swap (the row holds the writer after the swap).
* **Deterministic, not alphabetical.** Ties are broken by putting the previous class's
  writer last (nobody writes two weeks running while another is as due), then by a
  stable hash of (username, class date): the same data gives the same pick in every
  process and after every restart, and "aaron" is not always first. No randomness, no
  wall-clock input.
* **Projection = the future pick.** `project` runs the same rule over the coming classes,
  adding each projected pick before the next, so what `/idl rota` shows as projected is
  what will be picked if nothing changes.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Literal

from idlbot.domain.usernames import normalize_username

How = Literal["auto", "assigned", "swapped"]
SwapState = Literal["pending", "accepted", "declined", "cancelled"]


@dataclass(frozen=True)
class SummarySettings:
    """`[summaries]`: the rota's switches. `channel` is a channel purpose."""

    enabled: bool = True
    channel: str = "announcements"
    wiki_prefix: str = "summaries"
    announce_before: timedelta = timedelta(days=1)
    remind_at: time = time(18, 0)
    alert: bool = True  # DM the instructors when the summary is still missing at the next class


@dataclass(frozen=True)
class Pick:
    """The writer of the summary of the class on `day`. `revision` grows with every change
    of writer (it is part of the DM keys, so each change is told once)."""

    day: date
    writer: str
    how: How = "auto"
    announced: bool = False
    revision: int = 1
    projected: bool = False  # not stored: what the rule would pick now


@dataclass(frozen=True)
class Swap:
    """`asker` (the writer of `day`) asks `other` to write instead."""

    day: date
    asker: str
    other: str
    state: SwapState = "pending"
    id: int = 0  # the stored request's number (part of its DM keys)


@dataclass(frozen=True)
class SummaryPage:
    """A wiki page under the prefix for a class date, as GitLab reported its creation."""

    day: date
    slug: str
    author: str  # GitLab username


def tie_rank(username: str, day: date) -> str:
    """The stable tie-break: sha256 of (username, class date), compared as hex text."""
    return hashlib.sha256(f"{normalize_username(username)}|{day.isoformat()}".encode()).hexdigest()


def fair_pick(day: date, available: Collection[str], picks: Iterable[Pick]) -> str | None:
    """The writer for `day` among `available` (usernames), given the other days' picks;
    None when nobody is available. Among the fewest picks, the writer of the class before
    goes last (nobody writes two weeks running while another is as due), then the hash."""
    others = [p for p in picks if p.day != day]
    counts = Counter(p.writer for p in others)
    before = max((p for p in others if p.day < day), key=lambda p: p.day, default=None)
    previous = before.writer if before is not None else None
    names = sorted({normalize_username(n) for n in available})
    if not names:
        return None
    return min(names, key=lambda n: (counts[n], n == previous, tie_rank(n, day)))


@dataclass(frozen=True)
class RotaState:
    """Everything the rule reads: stored picks, excuses per day, the students who can
    write (active students on the roster, staff removed)."""

    students: frozenset[str]
    picks: Mapping[date, Pick] = field(default_factory=dict)
    excused: Mapping[date, frozenset[str]] = field(default_factory=dict)

    def available(self, day: date) -> frozenset[str]:
        return self.students - self.excused.get(day, frozenset())

    def pick(self, day: date) -> str | None:
        return fair_pick(day, self.available(day), self.picks.values())


def project(state: RotaState, days: Sequence[date]) -> list[Pick]:
    """The pick of each of `days`: the stored one, else what the rule would pick now
    (marked `projected`), taking the earlier projections into account."""
    known = dict(state.picks)
    out = []
    for day in days:
        if day in known:
            out.append(known[day])
            continue
        writer = fair_pick(day, state.available(day), known.values())
        if writer is None:
            continue
        known[day] = Pick(day, writer, projected=True)
        out.append(known[day])
    return out


def page_slug(prefix: str, day: date) -> str:
    """The wiki page the writer creates: `<prefix>/<YYYY-MM-DD>`."""
    return f"{prefix.strip('/')}/{day.isoformat()}"


def summary_day(slug: str, prefix: str) -> date | None:
    """The class date a page is the summary of: `<prefix>/<date>` or anything below it
    (case-insensitive, as GitLab's slugs); None for any other page."""
    path = slug.strip("/").lower()
    head = prefix.strip("/").lower() + "/"
    if not path.startswith(head):
        return None
    first = path[len(head) :].split("/", 1)[0]
    try:
        return date.fromisoformat(first) if len(first) == 10 else None
    except ValueError:
        return None


def page_there(
    pages: Iterable[SummaryPage], writer_gitlab: str | None, staff: Collection[str]
) -> SummaryPage | None:
    """The page that counts for a class: created by its writer (GitLab username) or by
    staff (instructors, tutors: their GitLab name is taken to be their Mattermost name)."""
    allowed = {normalize_username(s) for s in staff}
    if writer_gitlab:
        allowed.add(normalize_username(writer_gitlab))
    return next((p for p in pages if normalize_username(p.author) in allowed), None)


def nearest(days: Sequence[date], day: date, k: int = 2) -> list[date]:
    """The `k` class dates closest to `day` (for "not a class: the nearest are ...")."""
    return sorted(sorted(days, key=lambda d: (abs((d - day).days), d))[:k])
