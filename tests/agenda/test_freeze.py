"""Acceptance: the freeze against the real GitLabClient and GitLabSim, on both
databases - one list request per page, one post and one wiki page per class whatever
fails or restarts around the cutoff, carry-over, done and skip."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from idlbot.clock import FakeClock
from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.domain.agenda import DISCUSSED_LABEL
from tests.agenda.conftest import COURSE, CUTOFF, Rig, file_questions, gitlab_order

LIST = "/projects/:id/issues"
CLASS = "2018-10-17"
LABEL = f"agenda::{CLASS}"


def agenda_pages(sim: GitLabSim) -> list[str]:
    return [slug for slug in sim.project(COURSE).wiki if slug.startswith("agenda/")]


async def agenda_posts(rig: Rig) -> int:
    """Every outbox row (all of them are agenda posts here), whatever its key."""
    return sum((await rig.outbox.count_by_state()).values())


async def test_250_questions_match_gitlab_order_one_request_per_page(
    sim: GitLabSim, make_rig: Callable[..., Rig], clock: FakeClock
) -> None:
    # ties everywhere (0..3 upvotes), a closed question, a non-question, and a late one
    file_questions(sim, 250, at=CUTOFF - timedelta(days=3), votes=lambda iid: (iid * 7) % 4)
    sim.add_issue("idl2018/other", "elsewhere", author="s1", labels=["question"])
    sim.close_issue(COURSE, 5, user="stober")
    sim.add_issue(COURSE, "not a question", author="s2")
    rig = make_rig()
    clock.set(CUTOFF - timedelta(minutes=1))
    late = sim.add_issue(COURSE, "filed too late", author="s3", labels=["question"],
                         at=CUTOFF + timedelta(seconds=1))  # fmt: skip
    sim.award(COURSE, int(late["iid"]), "thumbsup", user="s0")
    sim.requests.clear()

    clock.set(CUTOFF)
    [result] = await rig.service.freeze_due(clock.now())

    assert result.complete and result.created
    expected = [iid for iid in gitlab_order(sim) if iid != late["iid"]]
    assert len(expected) == 249
    assert list(result.record.agenda.ranking) == expected
    assert [i.iid for i in result.record.agenda.items] == expected[:10]
    lists = sim.routed(LIST)
    assert len(lists) == 3  # 249 open questions at per_page=100: one request per page
    assert not [r for r in sim.requests if r.method == "GET" and r.route == "/projects/:id/issues/:iid"]
    assert sum(1 for iid in expected[:10] if LABEL in sim.issue(COURSE, iid).labels) == 10
    assert sum(1 for iid in expected[10:] if LABEL in sim.issue(COURSE, iid).labels) == 0
    assert agenda_pages(sim) == [f"agenda/{CLASS}"]
    item = await rig.outbox.get(f"agenda:{CLASS}")
    assert item is not None and item.message == sim.wiki_page(COURSE, f"agenda/{CLASS}").content  # type: ignore[union-attr]
    assert "filed too late" not in item.message


async def test_rerun_edits_the_one_post_and_page(
    sim: GitLabSim, make_rig: Callable[..., Rig], clock: FakeClock
) -> None:
    file_questions(sim, 5, at=CUTOFF - timedelta(days=1), votes=lambda iid: iid % 3)
    rig = make_rig(top=3)
    clock.set(CUTOFF + timedelta(minutes=1))
    first = await rig.service.freeze_due(clock.now())
    assert [r.complete for r in first] == [True]
    assert await rig.service.freeze_due(clock.now()) == []  # nothing left to do
    await rig.deliver(clock.now())

    await rig.service.skip(first[0].record.agenda.items[0].iid, clock.now(), by="stober")
    again = await rig.service.freeze(clock.now(), by="stober")
    assert again is not None and again.complete and again.record.revision == 2
    assert await agenda_posts(rig) == 1
    [(post_id, text)] = rig.editor.edits
    assert post_id == f"post-agenda:{CLASS}" and "revision 2" in text
    assert sim.wiki_page(COURSE, f"agenda/{CLASS}").content == text  # type: ignore[union-attr]
    assert agenda_pages(sim) == [f"agenda/{CLASS}"]
    skipped = first[0].record.agenda.items[0].iid
    assert skipped not in {i.iid for i in again.record.agenda.items}
    assert LABEL not in sim.issue(COURSE, skipped).labels  # unlabelled by the rebuild


async def test_restart_across_the_cutoff_finishes_the_frozen_list(
    sim: GitLabSim, make_rig: Callable[..., Rig], clock: FakeClock
) -> None:
    file_questions(sim, 6, at=CUTOFF - timedelta(days=1), votes=lambda iid: iid % 4)
    before = make_rig(top=4)
    clock.set(CUTOFF - timedelta(minutes=5))
    assert await before.service.freeze_due(clock.now()) == []  # not yet

    async def down(*args: object, **kwargs: object) -> None:
        raise RuntimeError("502: Bad Gateway")

    before.gitlab.upsert_wiki_page = down  # type: ignore[method-assign,assignment]
    before.gitlab.set_labels = down  # type: ignore[method-assign]
    clock.set(CUTOFF + timedelta(seconds=5))
    expected = gitlab_order(sim)[:4]
    [partial] = await before.service.freeze_due(clock.now())
    assert not partial.complete and partial.record.post_revision == 1
    await before.close()  # the bot stops here (a crash leaves the same rows)

    # while it is down: a late question and many votes for the last question
    clock.set(CUTOFF + timedelta(minutes=30))
    sim.add_issue(COURSE, "late", author="s1", labels=["question"])
    for voter in ("s0", "s1", "s2", "s3", "s4"):
        sim.award(COURSE, gitlab_order(sim)[-1], "thumbsup", user=voter)
    after = make_rig(top=4)
    [result] = await after.service.freeze_due(clock.now())
    assert result.complete and not result.created
    assert [i.iid for i in result.record.agenda.items] == expected
    assert all(f"agenda::{CLASS}" in sim.issue(COURSE, iid).labels for iid in expected)
    assert await after.service.freeze_due(clock.now()) == []
    assert await agenda_posts(after) == 1 and agenda_pages(sim) == [f"agenda/{CLASS}"]


async def test_gitlab_down_at_the_cutoff_then_freeze_after_restart(
    sim: GitLabSim, make_rig: Callable[..., Rig], clock: FakeClock
) -> None:
    file_questions(sim, 3, at=CUTOFF - timedelta(days=1), votes=lambda iid: iid)
    before = make_rig()
    clock.set(CUTOFF)
    sim.faults.fail_next(50, status=503)  # beyond python-gitlab's retries
    assert await before.service.freeze_due(clock.now()) == []  # nothing frozen, nothing posted
    assert await agenda_posts(before) == 0
    await before.close()
    sim.faults.clear()
    clock.set(CUTOFF + timedelta(hours=3))
    sim.add_issue(COURSE, "after the cutoff", author="s1", labels=["question"])
    after = make_rig()
    [result] = await after.service.freeze_due(clock.now())
    assert result.complete and [i.iid for i in result.record.agenda.items] == [3, 2, 1]
    assert await agenda_posts(after) == 1 and agenda_pages(sim) == [f"agenda/{CLASS}"]


async def test_429_and_5xx_during_the_freeze(
    sim: GitLabSim, make_rig: Callable[..., Rig], clock: FakeClock
) -> None:
    file_questions(sim, 4, at=CUTOFF - timedelta(days=1), votes=lambda iid: iid % 2)
    rig = make_rig(top=2)
    clock.set(CUTOFF)
    sim.faults.fail_next(2, status=502)
    # slow enough that a loaded CI machine still runs into the limit
    sim.faults.rate_limit(per_sec=2.0, burst=1)
    [result] = await rig.service.freeze_due(clock.now())
    sim.faults.clear()
    assert result.complete, result.problems
    assert any(r.status == 429 for r in sim.requests) and any(r.status == 502 for r in sim.requests)
    assert [i.iid for i in result.record.agenda.items] == gitlab_order(sim)[:2]
    assert await agenda_posts(rig) == 1 and agenda_pages(sim) == [f"agenda/{CLASS}"]


async def test_wiki_failure_is_finished_by_the_next_run(
    sim: GitLabSim, make_rig: Callable[..., Rig], clock: FakeClock
) -> None:
    file_questions(sim, 3, at=CUTOFF - timedelta(days=1), votes=lambda iid: iid)
    rig = make_rig()
    await rig.service.refresh()
    clock.set(CUTOFF)
    # the wiki backend is down for every try of this freeze (the client retries 4 times)
    sim.faults.fail_route("POST", "/projects/:id/wikis", n=5, status=503)
    [first] = await rig.service.freeze_due(clock.now())
    assert not first.complete and len(first.problems) == 1
    assert first.problems[0].startswith("wiki:") and "503" in first.problems[0], first.problems
    assert first.record.last_error == first.problems[0]
    [second] = await rig.service.freeze_due(clock.now() + timedelta(minutes=5))
    assert second.complete and second.record.last_error is None and not second.created
    assert await agenda_posts(rig) == 1 and agenda_pages(sim) == [f"agenda/{CLASS}"]


async def test_carry_over_done_and_skip(
    sim: GitLabSim, make_rig: Callable[..., Rig], clock: FakeClock
) -> None:
    # iid 1..4 with 4,3,2,1 upvotes; top 2 -> class 1 has #1 and #2
    file_questions(sim, 4, at=CUTOFF - timedelta(days=1), votes=lambda iid: 5 - iid)
    rig = make_rig(top=2)
    clock.set(CUTOFF)
    [week1] = await rig.service.freeze_due(clock.now())
    assert [i.iid for i in week1.record.agenda.items] == [1, 2]

    clock.set(CUTOFF + timedelta(days=1, hours=2))  # in class: #1 discussed, #2 not reached
    new, problem = await rig.service.done(1, clock.now(), by="stober")
    assert new and problem is None and DISCUSSED_LABEL in sim.issue(COURSE, 1).labels
    # a fresh question with many votes, and #3 skipped for next week
    fresh = sim.add_issue(COURSE, "fresh", author="s1", labels=["question"])
    for voter in ("s0", "s1", "s2", "s3", "s4", "s5"):
        sim.award(COURSE, int(fresh["iid"]), "thumbsup", user=voter)
    for voter in ("s1", "s2", "s3", "s4"):  # #4 overtakes the carried-over #2
        sim.award(COURSE, 4, "thumbsup", user=voter)
    slot, skipped_new, frozen = await rig.service.skip(3, clock.now() + timedelta(days=1), by="stober")
    assert slot.key == "2018-10-24" and skipped_new and not frozen

    clock.set(CUTOFF + timedelta(days=7))
    [week2] = await rig.service.freeze_due(clock.now())
    items = [(i.iid, i.carried_over) for i in week2.record.agenda.items]
    assert items == [(int(fresh["iid"]), False), (4, False), (2, True)]  # #2 is kept below the top 2
    assert 1 not in week2.record.agenda.ranking and 3 not in week2.record.agenda.ranking
    text = sim.wiki_page(COURSE, "agenda/2018-10-24").content  # type: ignore[union-attr]
    assert "**carried over**" in text and "1 carried over from the last class" in text
    assert await agenda_posts(rig) == 2


async def test_close_on_done(sim: GitLabSim, make_rig: Callable[..., Rig], clock: FakeClock) -> None:
    file_questions(sim, 2, at=CUTOFF - timedelta(days=1), votes=lambda iid: iid)
    rig = make_rig(close_on_done=True)
    await rig.service.done(2, clock.now(), by="stober")
    assert sim.issue(COURSE, 2).state == "closed"
    clock.set(CUTOFF)
    [result] = await rig.service.freeze_due(clock.now())
    assert [i.iid for i in result.record.agenda.items] == [1]
