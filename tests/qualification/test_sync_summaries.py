"""Session-summary pages reach the rota by both GitLab paths, like blog posts reach the
ledger: the webhook (`on_event`) and the reconciliation, idempotently and in any order."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.clock import FakeClock
from idlbot.domain.ledger import Student
from idlbot.domain.rota import SummaryPage, SummarySettings
from idlbot.services.qualification_sync import QualificationSync
from idlbot.services.rota import RotaService
from idlbot.storage.deliveries import SqlDeliveryKeys
from idlbot.storage.ledger import SqlLedger
from idlbot.storage.models_rota import SummaryPageRow
from idlbot.storage.outbox import SqlOutbox
from idlbot.storage.roster import SqlRoster
from idlbot.storage.rota import SqlRotaStore
from tests.qualification.support import SETTINGS, T0, FakeGitLab, at, course

STUDENTS = [Student("alice", gitlab="alice-gl"), Student("bob", gitlab="bob")]


async def _setup(engine: AsyncEngine, gl: FakeGitLab) -> tuple[QualificationSync, RotaService]:
    roster = SqlRoster(engine)
    await roster.bulk_upsert(STUDENTS, now=T0)

    async def students() -> list[Student]:
        return await roster.all()

    async def user_id(name: str) -> str | None:
        return None

    rota = RotaService(
        SqlRotaStore(engine), SqlOutbox(engine), course(), SummarySettings(), students=students,
        user_id=user_id, staff=("sstober",),
    )  # fmt: skip
    sync = QualificationSync(
        gl, SqlLedger(engine, course()), roster, course(), SETTINGS, FakeClock(T0),
        deliveries=SqlDeliveryKeys(engine), on_wiki=rota.on_wiki,
    )  # fmt: skip
    return sync, rota


async def test_summary_pages_by_hook_and_by_reconciliation_end_the_same(engine: AsyncEngine) -> None:
    gl = FakeGitLab()
    events = [
        gl.page("summaries/2018-10-17", "alice-gl", at(1)),
        gl.page("summaries/2018-10-17/figures", "alice-gl", at(2)),  # below it: also the summary's
        gl.page("Summaries/2018-10-24", "sstober", at(3)),
        gl.page("summaries/notes", "bob", at(4)),  # no class date: not a summary
        gl.page("blog/bob/week-1", "bob", at(5)),
    ]
    sync, rota = await _setup(engine, gl)
    changed = [await sync.on_event(e, f"key-{n}") for n, e in enumerate(events)]
    assert changed == [True, True, True, False, True]  # the blog post is the ledger's
    by_hook = await rota.store.pages()
    assert {p.slug for p in by_hook} == {
        "summaries/2018-10-17",
        "summaries/2018-10-17/figures",
        "Summaries/2018-10-24",
    }
    assert (await sync.reconcile()).summaries_changed == 0

    async with engine.begin() as conn:  # every hook lost
        await conn.execute(delete(SummaryPageRow))
    report = await sync.reconcile()
    assert report.summaries_changed == 3
    assert await rota.store.pages() == by_hook
    assert SummaryPage(by_hook[0].day, "summaries/2018-10-17", "alice-gl") in by_hook
