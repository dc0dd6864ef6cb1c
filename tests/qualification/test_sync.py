"""QualificationSync: webhook events and reconciliation end in the same ledger."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.clock import FakeClock
from idlbot.domain.ledger import Student, StudentLedger
from idlbot.services.qualification_sync import QualificationSync
from idlbot.storage.deliveries import SqlDeliveryKeys
from idlbot.storage.ledger import SqlLedger
from idlbot.storage.models_qualification import HandInRow, WikiPostRow
from idlbot.storage.roster import SqlRoster
from tests.qualification.support import SETTINGS, T0, FakeGitLab, at, course

STUDENTS = [
    Student("alice", gitlab="alice", team_id="lyrics-a"),
    Student("bob", gitlab="bob", team_id="lyrics-a"),
    Student("carol", gitlab="carol"),
    Student("dave", gitlab="dave"),
]


def _gitlab() -> FakeGitLab:
    gl = FakeGitLab()
    gl.add_repo(1, "alice", "bob", "carol")
    gl.add_repo(2, "dave", "outsider")
    gl.push(1, "a01", at(10), "bob")
    gl.push(1, "wip", at(11), "bob")  # not an assignment
    gl.push(1, "a01", at(20), "alice")  # re-push: the first one counts
    gl.push(2, "A02", at(30), "dave")
    gl.push(2, "a02", at(40), "dave", deleted=True)
    gl.page("blog/alice/week-1", "alice", at(50))
    gl.page("teams/lyrics-a/sprint-1", "carol", at(51))  # carol is not on team A
    gl.page("teams/lyrics-a/sprint-1", "bob", at(52))
    return gl


async def _setup(engine: AsyncEngine, gl: FakeGitLab) -> tuple[QualificationSync, SqlLedger]:
    roster = SqlRoster(engine)
    await roster.bulk_upsert(STUDENTS, now=T0)
    ledger = SqlLedger(engine, course())
    deliveries = SqlDeliveryKeys(engine)
    return QualificationSync(
        gl, ledger, roster, course(), SETTINGS, FakeClock(T0), deliveries=deliveries
    ), ledger


async def test_reconcile_equals_the_webhook_path(engine: AsyncEngine) -> None:
    gl = _gitlab()
    sync, ledger = await _setup(engine, gl)
    events = [p for pushes in gl.pushes.values() for p in pushes] + gl.pages
    changed = [await sync.on_event(e, f"key-{n}") for n, e in enumerate(events)]
    assert changed == [True, False, False, True, False, True, False, True]
    assert gl.repo_calls == 1  # the first push fetched every repo's members; cached since
    by_hook: list[StudentLedger] = await ledger.all_ledgers()

    report = await sync.reconcile()
    assert report.changed == 0  # the hooks missed nothing
    assert (report.repos, report.tag_pushes, report.wiki_pages) == (2, 3, 3)
    assert report.unknown_members == ("outsider",)

    async with engine.begin() as conn:  # forget everything GitLab-derived, as if every hook was lost
        await conn.execute(delete(HandInRow))
        await conn.execute(delete(WikiPostRow))
    report = await sync.reconcile()
    assert (report.hand_ins_changed, report.posts_changed) == (4, 2)
    assert await ledger.all_ledgers() == by_hook
    assert (await sync.reconcile()).changed == 0  # idempotent

    alice = next(lg for lg in by_hook if lg.student.mattermost == "alice")
    assert [(h.assignment_id, h.at, h.by) for h in alice.hand_ins] == [("a01", at(10), "bob")]
    dave = next(lg for lg in by_hook if lg.student.mattermost == "dave")
    assert [(h.assignment_id, h.at) for h in dave.hand_ins] == [("a02", at(30))]


async def test_duplicate_deliveries_are_dropped(engine: AsyncEngine) -> None:
    gl = FakeGitLab()
    gl.add_repo(1, "alice")
    sync, ledger = await _setup(engine, gl)
    push = gl.push(1, "a01", at(5), "alice")
    assert await sync.on_event(push, "uuid-1")
    assert not await sync.on_event(push, "uuid-1")
    assert not await sync.on_event(push, None)  # no key: recorded again, changes nothing
    unknown_repo = gl.push(99, "a01", at(1), "alice")
    assert not await sync.on_event(unknown_repo, "uuid-2")
    found = await ledger.ledger_for("alice")
    assert found is not None and [h.at for h in found.hand_ins] == [at(5)]
