"""The hand-in hook on each assignment repository (`RepoHooks`), through the real
python-gitlab client against the GitLab simulator: subgroups and every page of the
group's projects, archived repositories skipped, a 403 reported and retried later, and a
reconciliation pass's bounded share (newest first, known ones left alone)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from idlbot.adapters.gitlab.client import GitLabClient
from idlbot.config import GitLabSettings
from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.services.repo_hooks import RepoHooks

T0 = datetime(2018, 10, 22, 7, 0, tzinfo=UTC)
GROUP = "idl2018/assignments"
URL = "http://bot.example/gitlab/webhook"


@pytest.fixture
async def sim() -> AsyncIterator[GitLabSim]:
    async with GitLabSim(clock=lambda: T0) as server:
        for name in ("keeper", "alice", "bob", "carol", "dave"):
            server.add_user(name)
        server.add_group("idl2018")
        server.add_group(GROUP)
        server.add_group(f"{GROUP}/late")
        server.add_project("idl2018/course", members={"keeper": 40})
        for name in ("alice", "bob", "carol"):
            server.add_project(f"{GROUP}/{name}", members={name: 30, "keeper": 40})
        server.add_project(f"{GROUP}/late/dave", members={"dave": 30, "keeper": 40})  # a subgroup
        server.add_project(f"{GROUP}/old", members={"keeper": 40})
        server.archive(f"{GROUP}/old")
        yield server


def client(sim: GitLabSim, per_page: int = 100) -> GitLabClient:
    settings = GitLabSettings(
        url=sim.url, project="idl2018/course", assignments_group=GROUP, request_timeout=5, max_workers=2
    )
    return GitLabClient(settings, sim.issue_token("keeper"), max_retries=1, per_page=per_page)


async def test_every_page_and_subgroup_is_listed_archived_ones_marked(sim: GitLabSim) -> None:
    gl = client(sim, per_page=2)
    try:
        repos = await gl.assignment_projects()
    finally:
        await gl.close()
    assert [(r.path.removeprefix(GROUP + "/"), r.archived) for r in repos] == [
        ("alice", False), ("bob", False), ("carol", False), ("late/dave", False), ("old", True),
    ]  # fmt: skip
    assert len(sim.routed("/groups/:id/projects")) == 3  # five projects, two a page
    assert not sim.routed("/projects/:id/members/all")  # no member lists for hooks


async def test_ensure_all_reports_each_project(sim: GitLabSim) -> None:
    sim.add_member(f"{GROUP}/bob", "keeper", 30)  # only Developer there: GitLab answers 403
    sim.add_hook(f"{GROUP}/carol", URL, token="old", events=["push_events", "tag_push_events"])
    gl = client(sim)
    try:
        hooks = RepoHooks(gl, lambda: URL, "s3cret", course_project="idl2018/course")
        lines = await hooks.setup()
        again = await hooks.setup()
    finally:
        await gl.close()
    assert [str(x) for x in lines] == [
        "idl2018/course: created (the course project: tag_push_events, wiki_page_events, issues_events, "
        "confidential_issues_events, note_events, confidential_note_events, emoji_events)",
        f"{GROUP}/alice: created",
        f"{GROUP}/bob: no permission (GitLab answered 403: the token's user needs Maintainer there)",
        f"{GROUP}/carol: updated",
        f"{GROUP}/late/dave: created",
        f"{GROUP}/old: archived, skipped (nobody can push to it)",
    ]
    assert [x.outcome for x in again] == ["ok", "ok", "no permission", "ok", "ok", "archived"]
    assert [x.in_place for x in again] == [True, True, False, True, True, True]
    for path in ("alice", "carol", "late/dave"):
        [hook] = sim.hooks(f"{GROUP}/{path}")
        assert hook.url == URL and hook.token == "s3cret"
        assert hook.events["tag_push_events"] and not hook.events["push_events"]
        assert not any(on for flag, on in hook.events.items() if flag != "tag_push_events")
    assert sim.hooks(f"{GROUP}/old") == [] and sim.hooks(f"{GROUP}/bob") == []


async def test_a_pass_does_bounded_work_newest_first_and_warns_once(
    sim: GitLabSim, caplog: pytest.LogCaptureFixture
) -> None:
    sim.add_member(f"{GROUP}/bob", "keeper", 30)
    gl = client(sim)
    try:
        hooks = RepoHooks(gl, lambda: URL, "s3cret", per_pass=2, retry_refused=timedelta(hours=6))
        repos = await gl.assignment_projects()
        with caplog.at_level(logging.INFO, logger="idlbot.services.repo_hooks"):
            first = await hooks.ensure_new(repos, T0)
            second = await hooks.ensure_new(repos, T0)
        assert [x.path for x in first] == [f"{GROUP}/late/dave", f"{GROUP}/carol"]  # newest first
        assert [(x.path, x.outcome) for x in second] == [
            (f"{GROUP}/bob", "no permission"), (f"{GROUP}/alice", "created"),
        ]  # fmt: skip
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and f"{GROUP}/bob: no permission" in warnings[0].getMessage()
        before = len(sim.requests)
        assert await hooks.ensure_new(repos, T0 + timedelta(minutes=10)) == []  # all known: no request
        assert len(sim.requests) == before
        sim.add_project(f"{GROUP}/erin", members={"keeper": 40})  # created later
        sim.add_member(f"{GROUP}/bob", "keeper", 40)  # the permission fixed
        later = await hooks.ensure_new(await gl.assignment_projects(), T0 + timedelta(minutes=20))
        assert [(x.path, x.outcome) for x in later] == [(f"{GROUP}/erin", "created")]
        retried = await hooks.ensure_new(repos, T0 + timedelta(hours=7))
        assert [(x.path, x.outcome) for x in retried] == [(f"{GROUP}/bob", "created")]
    finally:
        await gl.close()
