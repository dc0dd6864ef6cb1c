"""verify/parse/idempotency_key on hooks the GitLab simulator really sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from idlbot.adapters.gitlab.hooks import MalformedHook, idempotency_key, parse, verify
from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.devtools.sim.gitlab_receiver import HookReceiver, Received
from idlbot.domain.gitlab import QuestionChanged, TagPush, WikiCreation

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RECEIVED = datetime(2026, 3, 2, 9, 0, 3, tzinfo=UTC)
COURSE = "idl2018/course"
ALL = ["tag_push_events", "issues_events", "note_events", "wiki_page_events", "emoji_events"]


@pytest.fixture
async def hooks() -> AsyncIterator[tuple[GitLabSim, list[Received]]]:
    rx = HookReceiver()
    await rx.start()
    async with GitLabSim(clock=lambda: T0) as sim:
        sim.add_user("alice")
        sim.add_user("bob")
        sim.add_project(COURSE, members=["alice", "bob"])
        sim.add_hook(COURSE, rx.url, token="s3cret", events=ALL)
        yield sim, rx.received
    await rx.stop()


def parsed(r: Received) -> object:
    return parse(r.headers["X-Gitlab-Event"], r.body, received_at=RECEIVED)


async def test_verify_is_fail_closed(hooks: tuple[GitLabSim, list[Received]]) -> None:
    sim, got = hooks
    sim.push_tag(COURSE, "a01", user="alice")
    await sim.flush_hooks()
    headers = got[0].headers
    assert verify(headers, "s3cret")
    assert verify({k.lower(): v for k, v in headers.items()}, "s3cret")
    assert not verify(headers, "wrong")
    assert not verify({}, "s3cret")
    assert not verify({"X-Gitlab-Token": ""}, "")
    assert idempotency_key(headers) == headers["Idempotency-Key"]
    assert idempotency_key({"X-Gitlab-Event-UUID": "u1"}) == "u1" and idempotency_key({}) is None


async def test_parse_every_kind(hooks: tuple[GitLabSim, list[Received]]) -> None:
    sim, got = hooks
    pid = sim.project(COURSE).id
    sim.push_tag(COURSE, "a01", user="alice")
    sim.delete_tag(COURSE, "a01", user="alice")
    sim.create_wiki_page(COURSE, "blog/alice/Week 1", "x", user="alice")
    sim.add_issue(COURSE, "Why?", author="alice")
    sim.award(COURSE, 1, "thumbsup", user="bob")
    sim.add_note(COURSE, 1, "same", user="bob")
    await sim.flush_hooks()
    assert [parsed(r) for r in got] == [
        TagPush(pid, COURSE, "a01", RECEIVED, "alice"),
        TagPush(pid, COURSE, "a01", RECEIVED, "alice", deleted=True),
        WikiCreation("blog/alice/Week-1", "Week 1", "alice", RECEIVED),
        QuestionChanged(pid, 1),
        QuestionChanged(pid, 1),
        QuestionChanged(pid, 1),
    ]


def test_parse_ignores_other_kinds() -> None:
    assert parse("Push Hook", {"object_kind": "push", "ref": "refs/heads/main"}, received_at=RECEIVED) is None
    update = {"object_kind": "wiki_page", "object_attributes": {"action": "update", "slug": "x"}}
    assert parse("Wiki Page Hook", update, received_at=RECEIVED) is None
    mr_note = {"object_kind": "note", "merge_request": {"iid": 3}}
    assert parse("Note Hook", mr_note, received_at=RECEIVED) is None


# The tag event of administration/system_hooks.md as the docs show it: `event_name` only,
# no `object_kind` and no `user_username` (GitLab itself sends the full push data).
DOC_SYSTEM_TAG_PUSH = {
    "event_name": "tag_push",
    "before": "0" * 40,
    "after": "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
    "ref": "refs/tags/v1.0.0",
    "checkout_sha": "5937ac0a7beb003549fc5fd26fc247adbce4a52e",
    "user_id": 1,
    "user_name": "John Smith",
    "project_id": 1,
    "project": {"name": "Example", "path_with_namespace": "jsmith/example", "visibility_level": 0},
    "commits": [],
    "total_commits_count": 0,
}


def test_a_system_hook_is_read_for_tag_pushes_only() -> None:
    push = parse("System Hook", DOC_SYSTEM_TAG_PUSH, received_at=RECEIVED)
    assert push == TagPush(1, "jsmith/example", "v1.0.0", RECEIVED, "", deleted=False)
    update = {"event_name": "repository_update", "project_id": 1, "refs": ["refs/tags/v1.0.0"]}
    assert parse("System Hook", update, received_at=RECEIVED) is None
    assert (
        parse("System Hook", {"event_name": "project_create", "project_id": 74}, received_at=RECEIVED) is None
    )
    with pytest.raises(MalformedHook, match="project_id"):
        parse("System Hook", {**DOC_SYSTEM_TAG_PUSH, "project_id": "1"}, received_at=RECEIVED)


async def test_a_system_hook_delivery_from_the_simulator() -> None:
    rx = HookReceiver()
    await rx.start()
    try:
        async with GitLabSim(clock=lambda: T0) as sim:
            sim.add_user("alice")
            sim.add_group("idl2018")
            sim.add_project("idl2018/alice", members=["alice"])
            sim.add_system_hook(rx.url, token="s3cret", events=["tag_push_events"])
            sim.push_tag("idl2018/alice", "a01", user="alice")
            await sim.flush_hooks()
    finally:
        await rx.stop()
    pushes = [parsed(r) for r in rx.received]
    assert all(verify(r.headers, "s3cret") for r in rx.received)
    assert [p for p in pushes if p is not None] == [
        TagPush(sim.project("idl2018/alice").id, "idl2018/alice", "a01", RECEIVED, "alice")
    ]
    assert len(pushes) == 2  # and the repository_update, which means nothing to the bot
