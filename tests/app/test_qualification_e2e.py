"""Issue #3 end to end: both simulators, the real bot, real sockets.

A tag push reaches `/idl status` through the Tag Push Hook within 5 s; a push after the
deadline shows up as late; with hooks switched off, the reconciliation finds both. The
bot's clock and the GitLab simulator's run on the same shifted clock (Mon 22 Oct 2018,
09:00 Berlin, flowing in real time): a01 was due Tue 16 Oct, a02 is due Tue 23 Oct."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from idlbot.domain.ledger import Student
from tests.app.conftest import Harness, eventually, make_harness

ROSTER = [
    Student(mattermost="alice", gitlab="alice", group_id="g1", team_id="lyrics-a"),
    Student(mattermost="bob", gitlab="bob", group_id="g2", team_id="lyrics-b"),
    Student(mattermost="carol", gitlab="carol", group_id="g3", team_id="lyrics-b"),
]


async def started(db_url: str, reconcile_minutes: float) -> Harness:
    h = await make_harness(db_url, gitlab=True, reconcile_minutes=reconcile_minutes)
    bot = await h.start_bot()
    for student in ROSTER:
        await bot.roster.upsert(student, now=bot.clock.now())
    return h


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[Harness]:
    h = await started(db_url, reconcile_minutes=10.0)
    try:
        yield h
    finally:
        await h.close()


def status_line(text: str, assignment: str) -> str:
    return next((line for line in text.splitlines() if assignment in line and "due" not in line[:3]), "")


async def status_of(h: Harness, user: str) -> str:
    return str((await h.slash(user, "/idl status"))["text"])


async def test_tag_push_through_the_webhook_within_5s(world: Harness) -> None:
    assert world.gitlab is not None
    world.gitlab.push_tag("idl2018/assignments/alice", "a02", user="alice")

    async def on_time() -> bool:
        return "a02: on time" in await status_of(world, "alice")

    await eventually(on_time, timeout=5, what="a02 on time in /idl status")


async def test_push_after_the_deadline_is_late(world: Harness) -> None:
    assert world.gitlab is not None
    world.gitlab.push_tag("idl2018/assignments/alice", "a01", user="alice")

    async def late() -> bool:
        return "a01: late" in await status_of(world, "alice")

    await eventually(late, timeout=5, what="a01 late in /idl status")


async def test_one_members_tag_counts_for_the_assignment_group(world: Harness) -> None:
    assert world.gitlab is not None
    world.gitlab.push_tag("idl2018/assignments/bob-carol", "a02", user="carol")

    async def both() -> bool:
        return "a02: on time" in await status_of(world, "bob") and "a02: on time" in await status_of(
            world, "carol"
        )

    await eventually(both, timeout=5, what="a02 on time for bob and carol")


async def test_forged_hook_gets_401_and_changes_nothing(world: Harness) -> None:
    assert world.gitlab is not None
    world.gitlab.hooks_enabled = False
    world.gitlab.push_tag("idl2018/assignments/alice", "a02", user="alice")
    delivery = {"object_kind": "tag_push", "ref": "refs/tags/a02", "project_id": 1, "user_username": "alice"}
    url = f"http://127.0.0.1:{world.bot.port}/gitlab/webhook"
    async with aiohttp.ClientSession() as http:
        for token in ("wrong", ""):
            async with http.post(
                url, json=delivery, headers={"X-Gitlab-Event": "Tag Push Hook", "X-Gitlab-Token": token}
            ) as resp:
                assert resp.status == 401
    assert "a02: on time" not in await status_of(world, "alice")


async def test_with_hooks_off_the_reconciliation_finds_both(db_url: str) -> None:
    h = await started(db_url, reconcile_minutes=10.0)
    try:
        assert h.gitlab is not None
        h.gitlab.hooks_enabled = False
        h.gitlab.push_tag("idl2018/assignments/alice", "a02", user="alice")
        h.gitlab.push_tag("idl2018/assignments/alice", "a01", user="alice")

        async def both() -> bool:
            text = await status_of(h, "alice")
            return "a02: on time" in text and "a01: late" in text

        await h.bot.periodic.run_now("gitlab reconciliation")  # the next one, without waiting for it
        assert await both(), await status_of(h, "alice")
        assert h.gitlab.deliveries == [] or all(not d.ok for d in h.gitlab.deliveries)
    finally:
        await h.close()
