"""An in-memory `RotaStore` and the real `RotaService` on it, seeded for the command
tests at Monday 22 October 2018 09:00: alice wrote the summary of 2018-10-17 (page
there), alice is assigned 2018-10-24 (not announced yet), bob is assigned 2018-10-31 and
has asked alice to swap; carol is on the roster too."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime

from idlbot.domain.course import Course
from idlbot.domain.ledger import Student
from idlbot.domain.rota import How, Pick, SummaryPage, SummarySettings, Swap, SwapState
from idlbot.services.rota import RotaService
from tests.support.fakes import FakeOutbox, FakePeople


class MemoryRotaStore:
    def __init__(self) -> None:
        self.rows: dict[date, Pick] = {}
        self.excused: dict[date, set[str]] = {}
        self.swaps: list[Swap] = []
        self.pages_: dict[str, SummaryPage] = {}

    async def picks(self) -> dict[date, Pick]:
        return dict(sorted(self.rows.items()))

    async def insert_pick(self, pick: Pick, *, now: datetime) -> Pick:
        return self.rows.setdefault(pick.day, replace(pick, revision=1))

    async def change_writer(
        self, day: date, writer: str, how: How, *, revision: int, now: datetime
    ) -> Pick | None:
        pick = self.rows.get(day)
        if pick is None or pick.revision != revision:
            return None
        self.rows[day] = replace(pick, writer=writer, how=how, revision=revision + 1)
        return self.rows[day]

    async def mark_announced(self, day: date, *, now: datetime) -> None:
        self.rows[day] = replace(self.rows[day], announced=True)

    async def excuses(self) -> Mapping[date, frozenset[str]]:
        return {d: frozenset(n) for d, n in self.excused.items()}

    async def add_excuse(self, day: date, username: str, *, by: str, now: datetime) -> bool:
        names = self.excused.setdefault(day, set())
        new = username not in names
        names.add(username)
        return new

    async def pending_swap(self, day: date) -> Swap | None:
        return next((s for s in reversed(self.swaps) if s.day == day and s.state == "pending"), None)

    async def ask_swap(self, swap: Swap, *, now: datetime) -> int:
        self.swaps = [replace(s, state="cancelled") if s.day == swap.day and s.state == "pending" else s
                      for s in self.swaps]  # fmt: skip
        self.swaps.append(replace(swap, id=len(self.swaps) + 1))
        return len(self.swaps)

    async def answer_swap(self, day: date, other: str, state: SwapState, *, now: datetime) -> Swap | None:
        for n, s in enumerate(self.swaps):
            if s.day == day and s.other == other and s.state == "pending":
                self.swaps[n] = replace(s, state=state)
                return self.swaps[n]
        return None

    async def record_page(self, page: SummaryPage, *, created_at: datetime) -> bool:
        new = page.slug not in self.pages_
        self.pages_.setdefault(page.slug, page)
        return new

    async def pages(self) -> list[SummaryPage]:
        return list(self.pages_.values())


STUDENTS = [
    Student("alice", gitlab="alice", group_id="g1"),
    Student("bob", gitlab="bob", group_id="g2"),
    Student("carol", gitlab="carol", group_id="g3"),
]


def fake_rota(
    course: Course, staff: tuple[str, ...] = ("sstober", "jens", "tutor1", "tutor2")
) -> RotaService:
    store = MemoryRotaStore()
    store.rows = {
        date(2018, 10, 17): Pick(date(2018, 10, 17), "alice", announced=True),
        date(2018, 10, 24): Pick(date(2018, 10, 24), "alice", "assigned"),
        date(2018, 10, 31): Pick(date(2018, 10, 31), "bob", "assigned"),
    }
    store.swaps = [Swap(date(2018, 10, 31), "bob", "alice", id=1)]
    store.pages_ = {"summaries/2018-10-17": SummaryPage(date(2018, 10, 17), "summaries/2018-10-17", "alice")}

    async def students() -> list[Student]:
        return list(STUDENTS)

    return RotaService(
        store, FakeOutbox(), course, SummarySettings(), students=students,
        user_id=FakePeople().user_id, staff=staff,
    )  # fmt: skip
