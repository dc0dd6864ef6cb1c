"""The GitLab simulator's system hooks, project hooks on students' repositories, and
archived projects, as python-gitlab sees them over the wire (lib/api/system_hooks.rb,
administration/system_hooks.md, lib/api/project_hooks.rb)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import gitlab
import pytest

from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.devtools.sim.gitlab_receiver import HookReceiver

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GROUP = "idl2018/assignments"


@pytest.fixture
async def world() -> AsyncIterator[tuple[GitLabSim, HookReceiver]]:
    receiver = HookReceiver()
    await receiver.start()
    async with GitLabSim(clock=lambda: T0) as sim:
        sim.add_user("root", admin=True)
        sim.add_user("prof")
        sim.add_user("alice")
        sim.add_user("bob")
        sim.add_group("idl2018")
        sim.add_group(GROUP, members={"prof": 40})
        sim.add_project(f"{GROUP}/alice", members=["alice"])
        sim.add_project(f"{GROUP}/bob", members=["bob"])
        yield sim, receiver
    await receiver.stop()


def client(sim: GitLabSim, user: str) -> gitlab.Gitlab:
    return gitlab.Gitlab(sim.url, private_token=sim.issue_token(user))


async def test_system_hooks_are_for_admins_only(world: tuple[GitLabSim, HookReceiver]) -> None:
    sim, rx = world
    prof = client(sim, "prof")
    with pytest.raises(gitlab.exceptions.GitlabListError) as listed:
        await asyncio.to_thread(prof.hooks.list)
    assert listed.value.response_code == 403
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as created:
        await asyncio.to_thread(prof.hooks.create, {"url": rx.url, "tag_push_events": True})
    assert created.value.response_code == 403
    root = client(sim, "root")
    hook = await asyncio.to_thread(root.hooks.create, {"url": rx.url, "token": "s", "tag_push_events": True})
    got = (await asyncio.to_thread(root.hooks.list))[0].attributes
    assert got["id"] == hook.id and "token" not in got
    flags = (got["tag_push_events"], got["push_events"], got["repository_update_events"])
    assert flags == (True, False, True)


async def test_a_tag_push_reaches_system_hooks_as_system_hook(world: tuple[GitLabSim, HookReceiver]) -> None:
    sim, rx = world
    root = client(sim, "root")
    await asyncio.to_thread(
        root.hooks.create,
        {"url": rx.url, "token": "s3cret", "tag_push_events": True, "repository_update_events": False},
    )
    sim.push_tag(f"{GROUP}/alice", "a01", user="alice")
    await sim.flush_hooks()
    [got] = rx.received  # no project hook on the repository: only the system hook
    assert got.headers["X-Gitlab-Event"] == "System Hook" and got.headers["X-Gitlab-Token"] == "s3cret"
    body = got.body
    assert (body["event_name"], body["object_kind"], body["ref"]) == ("tag_push", "tag_push", "refs/tags/a01")
    assert body["project"]["path_with_namespace"] == f"{GROUP}/alice" and body["user_username"] == "alice"


async def test_repository_update_reaches_system_hooks(world: tuple[GitLabSim, HookReceiver]) -> None:
    sim, rx = world
    sim.add_system_hook(rx.url, token="s3cret")  # GitLab's defaults: repository_update only
    sim.push_tag(f"{GROUP}/bob", "a02", user="bob")
    await sim.flush_hooks()
    [got] = rx.received
    assert got.headers["X-Gitlab-Event"] == "System Hook"
    assert got.body["event_name"] == "repository_update" and got.body["refs"] == ["refs/tags/a02"]


async def test_project_hooks_need_maintainer_on_that_project(world: tuple[GitLabSim, HookReceiver]) -> None:
    sim, rx = world
    sim.add_user("tutor")
    sim.add_member(f"{GROUP}/alice", "tutor", 40)
    sim.add_member(f"{GROUP}/bob", "tutor", 30)
    tutor = client(sim, "tutor")
    alice = await asyncio.to_thread(tutor.projects.get, f"{GROUP}/alice", lazy=True)
    data = {"url": rx.url, "token": "t", "tag_push_events": True, "push_events": False}
    created = await asyncio.to_thread(alice.hooks.create, data)
    assert (created.tag_push_events, created.push_events) == (True, False)
    await asyncio.to_thread(alice.hooks.update, created.id, {"url": rx.url, "enable_ssl_verification": False})
    assert sim.hooks(f"{GROUP}/alice")[0].enable_ssl_verification is False
    bob = await asyncio.to_thread(tutor.projects.get, f"{GROUP}/bob", lazy=True)
    with pytest.raises(gitlab.exceptions.GitlabListError) as refused:
        await asyncio.to_thread(bob.hooks.list)
    assert refused.value.response_code == 403
    sim.push_tag(f"{GROUP}/alice", "a01", user="alice")
    await sim.flush_hooks()
    assert [r.headers["X-Gitlab-Event"] for r in rx.received] == ["Tag Push Hook"]


async def test_archived_projects_are_listed_unless_filtered(world: tuple[GitLabSim, HookReceiver]) -> None:
    sim, _ = world
    sim.archive(f"{GROUP}/bob")
    prof = client(sim, "prof")
    group = await asyncio.to_thread(prof.groups.get, GROUP)
    every = await asyncio.to_thread(group.projects.list, get_all=True)
    assert {p.path: p.archived for p in every} == {"alice": False, "bob": True}
    active = await asyncio.to_thread(group.projects.list, get_all=True, archived=False)
    assert [p.path for p in active] == ["alice"]
    with pytest.raises(ValueError, match="archived"):
        sim.push_tag(f"{GROUP}/bob", "a01", user="bob")
