"""GitLabClient (python-gitlab in a thread pool) against the GitLab simulator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from idlbot.adapters.gitlab.client import GitLabClient, GitLabError
from idlbot.config import GitLabSettings
from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.domain.gitlab import Repo, TagPush, WikiCreation

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def sim() -> AsyncIterator[GitLabSim]:
    async with GitLabSim(clock=Clock()) as server:
        for name in ("stober", "tutor", "alice", "bob", "carol"):
            server.add_user(name)
        server.add_user("project_77_bot_1a2b3c", bot=True)
        server.add_group("idl2018", members={"stober": 50})
        server.add_group("idl2018/assignments", members={"tutor": 40})
        server.add_group("idl2018/assignments/teams")
        server.add_project("idl2018/course", members=["alice", "bob", "carol"])
        server.add_project("idl2018/assignments/alice", members=["alice", "project_77_bot_1a2b3c"])
        server.add_project("idl2018/assignments/teams/team-1", members=["bob", "carol"])
        yield server


@pytest.fixture
async def gl(sim: GitLabSim) -> AsyncIterator[GitLabClient]:
    settings = GitLabSettings(
        url=sim.url, project="idl2018/course", assignments_group="idl2018/assignments",
        request_timeout=5, max_workers=2,
    )  # fmt: skip
    client = GitLabClient(settings, sim.issue_token("stober"), max_retries=3)
    yield client
    await client.close()


async def test_assignment_repos_members_without_staff_or_bots(sim: GitLabSim, gl: GitLabClient) -> None:
    repos = await gl.assignment_repos()
    alice, team = (
        sim.project("idl2018/assignments/alice").id,
        sim.project("idl2018/assignments/teams/team-1").id,
    )
    assert repos == [
        Repo(alice, "idl2018/assignments/alice", ("alice",)),
        Repo(team, "idl2018/assignments/teams/team-1", ("bob", "carol")),
    ]


async def test_tag_pushes_before_and_after_deadline(sim: GitLabSim, gl: GitLabClient) -> None:
    repo = "idl2018/assignments/alice"
    rid = sim.project(repo).id
    sim.push_tag(repo, "a01", user="alice", at=DEADLINE - timedelta(seconds=1))
    sim.delete_tag(repo, "a01", user="alice", at=DEADLINE + timedelta(minutes=5))
    sim.push_tag(repo, "a01", user="alice", at=DEADLINE + timedelta(minutes=6))
    pushes = await gl.tag_pushes(rid)
    assert pushes == [
        TagPush(rid, repo, "a01", DEADLINE - timedelta(seconds=1), "alice"),
        TagPush(rid, repo, "a01", DEADLINE + timedelta(minutes=5), "alice", deleted=True),
        TagPush(rid, repo, "a01", DEADLINE + timedelta(minutes=6), "alice"),
    ]
    assert [p.pushed_at for p in await gl.tag_pushes(rid, since=DEADLINE)] == [
        DEADLINE + timedelta(minutes=5),
        DEADLINE + timedelta(minutes=6),
    ]


async def test_wiki_creations_since(sim: GitLabSim, gl: GitLabClient) -> None:
    sim.create_wiki_page("idl2018/course", "blog/alice/Week 1", "x", user="alice", at=T0)
    sim.create_wiki_page("idl2018/course", "blog/bob/w2", "x", user="bob", at=T0 + timedelta(days=3))
    assert await gl.wiki_creations() == [
        WikiCreation("blog/alice/Week-1", "Week 1", "alice", T0),
        WikiCreation("blog/bob/w2", "w2", "bob", T0 + timedelta(days=3)),
    ]
    assert [w.author for w in await gl.wiki_creations(since=T0 + timedelta(hours=1))] == ["bob"]


async def test_open_questions_and_labels(sim: GitLabSim, gl: GitLabClient) -> None:
    course = "idl2018/course"
    for n in range(130):
        sim.add_issue(course, f"q{n}", author="alice", labels=["question"])
    sim.add_issue(course, "not a question", author="bob")
    sim.close_issue(course, 2, user="stober")
    for voter in ("bob", "carol"):
        sim.award(course, 7, "thumbsup", user=voter)
    sim.award(course, 9, "thumbsup", user="bob")
    pages_before = len(sim.routed("/projects/:id/issues"))
    questions = await gl.open_questions("question")
    assert len(sim.routed("/projects/:id/issues")) - pages_before == 2  # 130 issues, per_page 100
    assert [q.iid for q in questions[:4]] == [7, 9, 130, 129]
    assert 2 not in {q.iid for q in questions} and len(questions) == 129
    assert (questions[0].upvotes, questions[0].author, questions[0].labels) == (2, "alice", ("question",))
    await gl.set_labels(7, add=["agenda"], remove=["question"])
    assert sim.issue(course, 7).labels == {"agenda"}


async def test_upsert_wiki_and_hook(sim: GitLabSim, gl: GitLabClient) -> None:
    assert await gl.upsert_wiki_page("agenda/2026-03-10 Class", "v1") == "created"
    assert await gl.upsert_wiki_page("agenda/2026-03-10 Class", "v2") == "updated"
    page = sim.wiki_page("idl2018/course", "agenda/2026-03-10-Class")
    assert page is not None and page.content == "v2"
    events = ["issues_events", "note_events", "emoji_events", "wiki_page_events"]
    assert await gl.ensure_project_hook("http://bot/gitlab", "s3", events) == "created"
    assert await gl.ensure_project_hook("http://bot/gitlab", "s4", ["issues_events"]) == "updated"
    [hook] = sim.hooks("idl2018/course")
    assert hook.token == "s4" and hook.events["issues_events"] and not hook.events["push_events"]
    assert not hook.events["note_events"]


async def test_errors_are_mapped_and_transients_retried(sim: GitLabSim, gl: GitLabClient) -> None:
    sim.faults.fail_next(2, status=503)
    assert len(await gl.assignment_repos()) == 2  # retried by python-gitlab
    sim.faults.fail_next(10, status=500)
    with pytest.raises(GitLabError) as info:
        await gl.wiki_creations()
    assert (info.value.status, info.value.retryable) == (500, True)
    sim.faults.fail_next(0)
    sim.revoke_token(next(iter(sim.state.tokens)))
    with pytest.raises(GitLabError) as denied:
        await gl.wiki_creations()
    assert (denied.value.status, denied.value.retryable) == (401, False)


async def test_429_honours_retry_after(sim: GitLabSim, gl: GitLabClient) -> None:
    await gl.wiki_creations()  # resolves and caches the project id
    sim.faults.rate_limit(per_sec=1.0, burst=1, style="application")
    started = time.monotonic()
    await gl.wiki_creations()
    await gl.wiki_creations()
    assert 0.9 <= time.monotonic() - started < 3.0
    assert any(r.status == 429 for r in sim.requests)
