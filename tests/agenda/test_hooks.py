"""Freshness: hooks refresh the ranking (coalesced), duplicates are dropped by
Idempotency-Key, a missed hook changes nothing, a forged hook gets 401."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import aiohttp

from idlbot.clock import FakeClock
from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.domain.gitlab import QuestionChanged
from idlbot.services.agenda import HOOK_SCOPE
from idlbot.web.gitlab import GitLabHookDeps, add_gitlab_routes
from tests.agenda.conftest import COURSE, CUTOFF, SECRET, Receiver, Rig, file_questions, gitlab_order

EVENTS = ["issues_events", "note_events", "emoji_events", "confidential_issues_events"]


async def test_storm_with_duplicates_is_coalesced_and_deduplicated(
    sim: GitLabSim, make_rig: Callable[..., Rig], clock: FakeClock, receiver: Receiver
) -> None:
    file_questions(sim, 12, at=CUTOFF - timedelta(days=1), votes=lambda iid: 0)
    rig = make_rig()
    receiver.service = rig.service
    sim.add_hook(COURSE, receiver.url, token=SECRET, events=EVENTS)
    for n, voter in enumerate(("s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7") * 2):
        sim.award(COURSE, 1 + (n * 5) % 12, "thumbsup", user=voter)  # Emoji Hooks
        sim.add_note(COURSE, 1 + n % 12, "me too", user=voter)  # Note Hooks
    sim.add_issue(COURSE, "new one", author="s1", labels=["question"])  # an Issue Hook
    await sim.flush_hooks()
    originals = len(sim.deliveries)
    for n in range(originals):  # every delivery resent twice ("Resend Request")
        sim.redeliver(n)
        sim.redeliver(n)
    await sim.flush_hooks()
    await rig.service.settle()

    assert receiver.statuses == [200] * (3 * originals)
    assert receiver.accepted.count(True) == originals
    assert receiver.accepted.count(False) == 2 * originals
    assert rig.service.refreshes <= originals  # coalesced: never one query per hook
    ranking = [q.iid for q in await rig.service.questions()]
    assert ranking == gitlab_order(sim)

    clock.set(CUTOFF)
    [result] = await rig.service.freeze_due(clock.now())
    assert list(result.record.agenda.ranking) == gitlab_order(sim)
    assert sum((await rig.outbox.count_by_state()).values()) == 1


async def test_a_missed_hook_never_changes_the_agenda(
    sim: GitLabSim, make_rig: Callable[..., Rig], clock: FakeClock
) -> None:
    file_questions(sim, 3, at=CUTOFF - timedelta(days=1), votes=lambda iid: iid)
    rig = make_rig()
    assert [q.iid for q in await rig.service.refresh()] == [3, 2, 1]
    sim.hooks_enabled = False  # GitLab never sends these; the reconciliation must see them
    for voter in ("s1", "s2", "s3", "s4"):  # s0 voted for #1 already
        sim.award(COURSE, 1, "thumbsup", user=voter)
    clock.set(CUTOFF)
    [result] = await rig.service.freeze_due(clock.now())
    assert [i.iid for i in result.record.agenda.items] == [1, 3, 2]


async def test_forged_hook_is_refused_and_changes_nothing(
    sim: GitLabSim, make_rig: Callable[..., Rig], clock: FakeClock
) -> None:
    from aiohttp import web

    rig = make_rig()
    seen: list[QuestionChanged] = []

    async def on_question(event: QuestionChanged, key: str | None) -> None:
        seen.append(event)
        await rig.service.on_question(event, key)

    app = web.Application()
    # today's route passes no key; the lead changes it to `on_question(event, key)`
    add_gitlab_routes(app, GitLabHookDeps(secret=SECRET, sync=None, clock=clock, on_question=on_question))
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/gitlab/webhook"
    body = {"object_kind": "emoji", "issue": {"iid": 1, "project_id": 1}}
    try:
        async with aiohttp.ClientSession() as http:
            for token in ("wrong", "", SECRET + "x"):
                headers = {"X-Gitlab-Event": "Emoji Hook", "X-Gitlab-Token": token, "Idempotency-Key": "k1"}
                async with http.post(url, json=body, headers=headers) as resp:
                    assert resp.status == 401
            async with http.post(url, json=body, headers={"X-Gitlab-Event": "Emoji Hook"}) as resp:
                assert resp.status == 401
            assert seen == [] and rig.service.refreshes == 0
            assert not await rig.deliveries.seen(HOOK_SCOPE, "k1", clock.now())  # the key was never claimed
            good = {"X-Gitlab-Event": "Emoji Hook", "X-Gitlab-Token": SECRET}
            async with http.post(url, json=body, headers=good) as resp:
                assert resp.status == 200
    finally:
        await runner.cleanup()
    await rig.service.settle()
    assert len(seen) == 1 and rig.service.refreshes == 1
