"""domain/agenda.py with literal values: the class calendar, building, rendering."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from idlbot.config import Settings
from idlbot.devtools.sim.mm_mentions import parse_post
from idlbot.domain import agenda as dom
from tests.agenda.conftest import BERLIN
from tests.support.markdown import links


@dataclass(frozen=True)
class Q:
    iid: int
    upvotes: int = 0
    notes: int = 0
    created_at: datetime = datetime(2018, 10, 15, 8, 0, tzinfo=UTC)
    labels: tuple[str, ...] = ("question",)
    title: str = "Why ReLU?"
    author: str = "alice"

    @property
    def web_url(self) -> str:
        return f"https://gitlab.example/idl2018/course/-/issues/{self.iid}"


CUTOFF = datetime(2018, 10, 16, 12, 0, tzinfo=BERLIN)


def test_classes_are_on_the_first_lectures_weekday_and_skip_the_break(settings: Settings) -> None:
    slots = dom.class_slots(settings.course, settings.agenda)
    assert slots[0] == dom.ClassSlot(date(2018, 10, 17), CUTOFF)  # 10 Oct's cutoff precedes the course
    assert all(s.date.weekday() == 2 and s.cutoff.astimezone(BERLIN).weekday() == 1 for s in slots)
    dates = {s.date for s in slots}
    assert date(2018, 12, 19) in dates and date(2018, 12, 26) not in dates and date(2019, 1, 2) not in dates
    after_dst = next(s for s in slots if s.date == date(2018, 10, 31))
    local = after_dst.cutoff.astimezone(BERLIN)  # the first cutoff after the DST change: 12:00 CET
    assert local.hour == 12 and local.utcoffset() == timedelta(hours=1)


def test_current_and_due_slots(settings: Settings) -> None:
    c, a = settings.course, settings.agenda
    assert dom.current_slot(c, a, CUTOFF - timedelta(hours=1)).date == date(2018, 10, 17)  # type: ignore[union-attr]
    assert dom.due_slots(c, a, CUTOFF - timedelta(seconds=1)) == []
    assert [s.key for s in dom.due_slots(c, a, CUTOFF)] == ["2018-10-17"]
    class_day_evening = datetime(2018, 10, 17, 22, 0, tzinfo=BERLIN)
    assert [s.key for s in dom.due_slots(c, a, class_day_evening)] == ["2018-10-17"]  # still useful
    assert dom.due_slots(c, a, class_day_evening + timedelta(hours=3)) == []  # the class is over
    assert dom.current_slot(c, a, datetime(2019, 3, 1, tzinfo=BERLIN)) is None


def test_build_keeps_gitlabs_order_and_applies_the_rules() -> None:
    late = Q(9, upvotes=9, created_at=CUTOFF + timedelta(seconds=1))
    discussed = Q(7, 1, labels=(dom.DISCUSSED_LABEL,))
    questions = [late, Q(5, 3), Q(8, 2), Q(4, 2), discussed, Q(3, 1), Q(2, 0), Q(1, 0)]
    agenda = dom.build(questions, cutoff=CUTOFF, top=2, previous={1, 8, 6}, done={3}, skipped={4})
    assert agenda.ranking == (5, 8, 2, 1)
    assert [(i.iid, i.carried_over) for i in agenda.items] == [(5, False), (8, True), (1, True)]
    assert agenda.carried == 2


def test_render_marks_ties_carry_over_and_defuses_mentions() -> None:
    slot = dom.ClassSlot(date(2018, 10, 17), CUTOFF)
    items = [Q(5, 3, title="@all [help]"), Q(8, 2, notes=1), Q(4, 2), Q(1, 0)]
    agenda = dom.build(items, cutoff=CUTOFF, top=3, previous={1})
    record = dom.FrozenAgenda(slot=slot, frozen_at=CUTOFF, agenda=agenda)
    text = dom.render_frozen(record, BERLIN)
    lines = text.splitlines()
    assert lines[0] == "#### Class agenda for Wednesday 17 October 2018"
    assert "Tue 16 Oct 2018, 12:00 CEST" in lines[1]
    assert lines[3].startswith("1. [#5 @\u200ball \\[help\\]](https://")
    assert lines[4].startswith("=2. [#8") and "1 comment ·" in lines[4]
    assert lines[5].startswith("=2. [#4") and lines[6].startswith("4. [#1") and "**carried over**" in lines[6]
    early = replace(record, frozen_at=CUTOFF - timedelta(days=1))
    assert "Mon 15 Oct 2018, 12:00 CEST" in dom.render_frozen(early, BERLIN)


def test_an_escaped_bracket_title_is_no_link_and_mentions_nobody() -> None:
    """`[` and `]` escaped without the backslash turned `\\[x\\](http://evil.example)` into a link."""
    slot = dom.ClassSlot(date(2018, 10, 17), CUTOFF)
    items = [Q(5, 3, title="\\[x\\](http://evil.example) @ALL_"), Q(8, 2, title="ask @someuser")]
    text = dom.render_frozen(dom.FrozenAgenda(slot, CUTOFF, dom.build(items, cutoff=CUTOFF, top=3)), BERLIN)
    assert not any("evil" in target for target in links(text)), links(text)
    assert not parse_post(text, {"@someuser"}).any


def test_live_view_shows_time_left() -> None:
    slot = dom.ClassSlot(date(2018, 10, 17), CUTOFF)
    text = dom.render_live([Q(5, 3), Q(8, 2)], slot=slot, top=1, now=CUTOFF - timedelta(hours=3), tz=BERLIN)
    assert "top 1 of 2" in text and "(in 3 h)" in text and "#8" not in text
    assert "no class left" in dom.render_live([], slot=None, top=1, now=CUTOFF, tz=BERLIN)


def test_agenda_item_json_round_trip() -> None:
    item = dom.AgendaItem.of(Q(5, 3), carried_over=True)
    assert dom.AgendaItem.from_json(item.to_json()) == item
