"""Webhook emission of the GitLab simulator: headers and payload shapes as GitLab sends them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import gitlab
import pytest

from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.devtools.sim.gitlab_receiver import HookReceiver

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COURSE = "idl2018/course"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ALL = ["tag_push_events", "issues_events", "note_events", "wiki_page_events", "emoji_events"]


@pytest.fixture
async def world() -> AsyncIterator[tuple[GitLabSim, HookReceiver]]:
    receiver = HookReceiver()
    await receiver.start()
    async with GitLabSim(clock=lambda: T0) as sim:
        sim.add_user("prof")
        sim.add_user("alice", name="Alice Student")
        sim.add_group("idl2018", members={"prof": 50})
        sim.add_project(COURSE, members=["alice"])
        sim.add_hook(COURSE, receiver.url, token="s3cret", events=ALL)
        yield sim, receiver
    await receiver.stop()


async def test_tag_push_hook_headers_and_body(world: tuple[GitLabSim, HookReceiver]) -> None:
    sim, rx = world
    sim.push_tag(COURSE, "a03", user="alice")
    await sim.flush_hooks()
    [got] = rx.received
    h = got.headers
    assert h["X-Gitlab-Event"] == "Tag Push Hook" and h["X-Gitlab-Token"] == "s3cret"
    assert h["User-Agent"].startswith("GitLab/") and h["X-Gitlab-Instance"] == sim.url
    assert h["Content-Type"] == "application/json"
    for name in ("X-Gitlab-Webhook-UUID", "X-Gitlab-Event-UUID", "Idempotency-Key"):
        assert UUID.match(h[name]), name
    body = got.body
    assert (body["object_kind"], body["event_name"], body["ref"]) == ("tag_push", "tag_push", "refs/tags/a03")
    assert body["before"] == "0" * 40 and body["user_username"] == "alice"
    assert body["project"]["path_with_namespace"] == COURSE
    assert sim.deliveries[0].status == 200


async def test_award_fires_only_emoji_hook_and_note_hook(world: tuple[GitLabSim, HookReceiver]) -> None:
    sim, rx = world
    sim.add_issue(COURSE, "Why?", author="alice", labels=["question"])
    sim.award(COURSE, 1, "thumbsup", user="prof")
    sim.add_note(COURSE, 1, "Same here", user="prof")
    await sim.flush_hooks()
    assert [r.headers["X-Gitlab-Event"] for r in rx.received] == ["Issue Hook", "Emoji Hook", "Note Hook"]
    issue, emoji, note = (r.body for r in rx.received)
    assert issue["object_attributes"]["action"] == "open" and issue["event_type"] == "issue"
    assert issue["object_attributes"]["created_at"] == "2026-03-02 09:00:00 UTC"
    assert [lab["title"] for lab in issue["labels"]] == ["question"]
    assert (emoji["event_type"], emoji["object_attributes"]["name"]) == ("award", "thumbsup")
    assert emoji["object_attributes"]["awardable_id"] == emoji["issue"]["id"] and emoji["issue"]["iid"] == 1
    assert note["object_attributes"]["noteable_type"] == "Issue" and note["issue"]["iid"] == 1


async def test_rest_label_change_and_wiki_hook(world: tuple[GitLabSim, HookReceiver]) -> None:
    sim, rx = world
    sim.add_issue(COURSE, "Why?", author="alice", labels=["question"])
    gl = gitlab.Gitlab(sim.url, private_token=sim.issue_token("prof"), timeout=5)
    project = await asyncio.to_thread(gl.projects.get, COURSE)
    await asyncio.to_thread(project.issues.update, 1, {"add_labels": "agenda"})
    sim.create_wiki_page(COURSE, "blog/alice/Week 1", "hello", user="alice")
    await sim.flush_hooks()
    update, wiki = rx.received[1].body, rx.received[2].body
    assert update["object_attributes"]["action"] == "update"
    assert [lab["title"] for lab in update["changes"]["labels"]["current"]] == ["agenda", "question"]
    assert "event_type" not in wiki and wiki["object_attributes"]["action"] == "create"
    assert (wiki["object_attributes"]["slug"], wiki["object_attributes"]["title"]) == (
        "blog/alice/Week-1",
        "Week 1",
    )


async def test_hooks_disabled_and_redelivery(world: tuple[GitLabSim, HookReceiver]) -> None:
    sim, rx = world
    sim.hooks_enabled = False
    sim.push_tag(COURSE, "a01", user="alice")
    await sim.flush_hooks()
    assert rx.received == [] and sim.deliveries == []
    sim.hooks_enabled = True
    sim.push_tag(COURSE, "a02", user="alice")
    await sim.flush_hooks()
    again = sim.redeliver()
    await sim.flush_hooks()
    first, second = rx.received
    assert second.headers["Idempotency-Key"] == first.headers["Idempotency-Key"] == again.idempotency_key
    assert second.headers["X-Gitlab-Webhook-UUID"] != first.headers["X-Gitlab-Webhook-UUID"]
    assert second.body == first.body


async def test_failed_delivery_is_recorded_not_retried(world: tuple[GitLabSim, HookReceiver]) -> None:
    sim, rx = world
    rx.status = 500
    sim.push_tag(COURSE, "a01", user="alice")
    await sim.flush_hooks()
    assert [d.status for d in sim.deliveries] == [500] and not sim.deliveries[0].ok
    assert len(rx.received) == 1
