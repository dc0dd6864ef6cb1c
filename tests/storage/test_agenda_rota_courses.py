"""Two courses on one database (SQLite and PostgreSQL): the agenda store, the summary rota
and the presenter rota, each bound to "main" or "nlp", keep the same class date, iid,
slug and team id apart; each sees only its own rows, and a freeze, pick, claim or change
in one course leaves the other's alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.domain.agenda import Agenda, AgendaItem, ClassSlot
from idlbot.domain.ledger import Student
from idlbot.domain.rota import Pick, SummaryPage, Swap
from idlbot.storage.agenda import SqlAgendaStore
from idlbot.storage.presenters import SqlPresenters
from idlbot.storage.roster import SqlRoster
from idlbot.storage.rota import SqlRotaStore

T0 = datetime(2018, 10, 16, 10, 0, tzinfo=UTC)
DAY = date(2018, 10, 17)
SLOT = ClassSlot(DAY, T0)


def _agenda(*iids: int) -> Agenda:
    items = tuple(
        AgendaItem(i, f"Question {i}", "s1", i, 0, f"https://gitlab.example/issues/{i}", T0) for i in iids
    )
    return Agenda(items, tuple(iids))


async def test_each_course_freezes_and_publishes_its_own_agenda(engine: AsyncEngine) -> None:
    main, nlp = SqlAgendaStore(engine), SqlAgendaStore(engine, course="nlp")
    (ours, made), (theirs, also_made) = await asyncio.gather(
        main.insert(SLOT, _agenda(1, 2), T0), nlp.insert(SLOT, _agenda(7), T0)
    )
    assert made and also_made  # the same class date, one freeze per course
    assert [i.iid for i in ours.agenda.items] == [1, 2] and [i.iid for i in theirs.agenda.items] == [7]
    again, inserted = await nlp.insert(SLOT, _agenda(8), T0)
    assert not inserted and again == theirs
    rebuilt = await main.rebuild(DAY, _agenda(2), T0 + timedelta(hours=1))
    assert rebuilt.revision == 2 and (await nlp.get(DAY)) == theirs
    await nlp.published(DAY, post=1, wiki=1, labels=1, labeled=frozenset({7}), error=None)
    await main.published(DAY, post=2, error="wiki down")
    assert await nlp.incomplete(DAY) == []
    [lagging] = await main.incomplete(DAY)
    assert (lagging.post_revision, lagging.wiki_revision, lagging.last_error) == (2, 0, "wiki down")
    stored = await nlp.get(DAY)
    assert stored is not None and (stored.labeled, stored.last_error) == (frozenset({7}), None)
    assert await nlp.previous(DAY + timedelta(7)) == stored
    assert await SqlAgendaStore(engine, course="other").previous(DAY + timedelta(7)) is None


async def test_done_and_skipped_iids_belong_to_one_course(engine: AsyncEngine) -> None:
    main, nlp = SqlAgendaStore(engine), SqlAgendaStore(engine, course="nlp")
    assert await main.mark_done(12, by="sstober", now=T0)
    assert await nlp.mark_done(12, by="jens", now=T0)  # iid 12 of another project
    assert not await nlp.mark_done(12, by="jens", now=T0)
    assert await nlp.mark_done(13, by="jens", now=T0)
    assert (await main.done(), await nlp.done()) == ({12}, {12, 13})
    assert await main.skip(DAY, 5, by="sstober", now=T0)
    assert await nlp.skip(DAY, 5, by="jens", now=T0) and not await nlp.skip(DAY, 5, by="jens", now=T0)
    assert await nlp.skip(DAY, 6, by="jens", now=T0)
    assert (await main.skipped(DAY), await nlp.skipped(DAY)) == ({5}, {5, 6})


async def test_each_course_picks_its_own_summary_writer(engine: AsyncEngine) -> None:
    main, nlp = SqlRotaStore(engine), SqlRotaStore(engine, course="nlp")
    ours, theirs = await asyncio.gather(
        main.insert_pick(Pick(DAY, "alice"), now=T0), nlp.insert_pick(Pick(DAY, "bob"), now=T0)
    )
    assert (ours.writer, theirs.writer) == ("alice", "bob")
    assert (await nlp.insert_pick(Pick(DAY, "carol"), now=T0)) == theirs
    changed = await main.change_writer(DAY, "dave", "assigned", revision=1, now=T0)
    assert changed == Pick(DAY, "dave", "assigned", False, 2)
    assert await nlp.change_writer(DAY, "erin", "assigned", revision=2, now=T0) is None  # nlp is at 1
    await nlp.mark_announced(DAY, now=T0)
    assert await main.picks() == {DAY: Pick(DAY, "dave", "assigned", False, 2)}
    assert await nlp.picks() == {DAY: Pick(DAY, "bob", "auto", True, 1)}


async def test_excuses_swaps_and_pages_stay_in_their_course(engine: AsyncEngine) -> None:
    main, nlp = SqlRotaStore(engine), SqlRotaStore(engine, course="nlp")
    assert await main.add_excuse(DAY, "alice", by="sstober", now=T0)
    assert await nlp.add_excuse(DAY, "alice", by="jens", now=T0)
    assert not await nlp.add_excuse(DAY, "Alice", by="jens", now=T0)
    assert await nlp.add_excuse(DAY, "bob", by="jens", now=T0)
    assert await main.excuses() == {DAY: frozenset({"alice"})}
    assert await nlp.excuses() == {DAY: frozenset({"alice", "bob"})}

    ours = await main.ask_swap(Swap(DAY, "alice", "bob"), now=T0)
    theirs = await nlp.ask_swap(Swap(DAY, "carol", "bob"), now=T0)  # does not cancel ours
    assert await main.pending_swap(DAY) == Swap(DAY, "alice", "bob", "pending", ours)
    assert await nlp.answer_swap(DAY, "bob", "declined", now=T0) == Swap(
        DAY, "carol", "bob", "declined", theirs
    )
    assert await nlp.pending_swap(DAY) is None
    assert await main.pending_swap(DAY) == Swap(DAY, "alice", "bob", "pending", ours)

    slug = "summaries/2018-10-17"
    assert await main.record_page(SummaryPage(DAY, slug, "alice"), created_at=T0)
    assert await nlp.record_page(SummaryPage(DAY, slug, "bob"), created_at=T0 + timedelta(hours=1))
    assert await nlp.record_page(SummaryPage(DAY, slug, "carol"), created_at=T0)  # earlier: kept
    assert not await main.record_page(SummaryPage(DAY, slug, "dave"), created_at=T0 + timedelta(hours=2))
    assert await main.pages() == [SummaryPage(DAY, slug, "alice")]
    assert await nlp.pages() == [SummaryPage(DAY, slug, "carol")]


async def test_each_course_proposes_and_records_for_its_own_team(engine: AsyncEngine) -> None:
    # the same students and team id in both courses' rosters; each course's rows stay apart
    for course in ("main", "nlp"):
        await SqlRoster(engine, course=course).bulk_upsert(
            [Student("alice", team_id="team-a"), Student("bob", team_id="team-a")], now=T0
        )
    main, nlp = SqlPresenters(engine), SqlPresenters(engine, course="nlp")
    ours, theirs = await asyncio.gather(
        main.propose("team-a", DAY, "alice", now=T0), nlp.propose("team-a", DAY, "bob", now=T0)
    )
    assert (ours, theirs) == ("alice", "bob")
    assert await nlp.propose("team-a", DAY, "alice", now=T0) == "bob"
    made = await main.record("team-a", "alice", DAY, by="sstober", now=T0)
    also = await nlp.record("team-a", "alice", DAY, by="jens", now=T0 + timedelta(hours=1))
    again = await nlp.record("team-a", "alice", DAY, by="other", now=T0)
    assert made is not None and made.created and also is not None and also.created
    assert again is not None and not again.created and again.record.by == "jens"
    mine, other = await main.team("team-a"), await nlp.team("team-a")
    assert [(p.student, p.by) for p in mine.presented] == [("alice", "sstober")]
    assert [(p.student, p.by) for p in other.presented] == [("alice", "jens")]
    assert [p.student for p in mine.proposals] == ["alice"] and [p.student for p in other.proposals] == [
        "bob"
    ]
