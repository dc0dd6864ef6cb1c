"""GitLab hooks of a deployment of several courses are routed by project: the course
project's hooks (questions, wiki pages) and the tag pushes of repositories in a course's
assignments group (project hooks and an admin's system hook) reach that course's sync and
agenda only; a project no course owns gets 2xx and reaches nobody. The payloads are the
GitLab simulator's own, delivered over real sockets to the bot's real route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from aiohttp import web

from idlbot.clock import FakeClock
from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.domain.gitlab import QuestionChanged, TagPush, WikiCreation
from idlbot.web.gitlab import GitLabHookDeps, add_gitlab_routes

SECRET = "hook-secret"
T0 = datetime(2019, 4, 2, 9, 0, tzinfo=UTC)


@dataclass
class Course:
    """What one course's hook side saw."""

    events: list[Any] = field(default_factory=list)

    async def on_event(self, event: TagPush | WikiCreation, key: str | None) -> bool:
        self.events.append(event)
        return True

    async def on_question(self, event: QuestionChanged, key: str | None) -> None:
        self.events.append(event)


@pytest.fixture
async def routed() -> AsyncIterator[tuple[GitLabSim, str, dict[str, Course]]]:
    clock = FakeClock(T0)
    courses = {"idl": Course(), "ml": Course()}
    app = web.Application()
    add_gitlab_routes(
        app,
        *(
            GitLabHookDeps(
                secret=SECRET,
                sync=cast(Any, c),
                clock=clock,
                on_question=c.on_question,
                project=f"stober/{name}",
                group=f"{name}/assignments",
            )
            for name, c in courses.items()
        ),
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/gitlab/webhook"
    sim = GitLabSim(clock=clock.now)
    for user in ("stober", "alice"):
        sim.add_user(user)
    sim.add_group("stober")
    for name in ("idl", "ml", "other"):
        sim.add_group(name)
        sim.add_group(f"{name}/assignments")
        sim.add_project(f"stober/{name}", members=["stober", "alice"])
        sim.add_project(f"{name}/assignments/alice", members=["alice"])
    await sim.start()
    try:
        yield sim, url, courses
    finally:
        await sim.stop()
        await runner.cleanup()


async def test_each_hook_reaches_the_course_owning_its_project(
    routed: tuple[GitLabSim, str, dict[str, Course]],
) -> None:
    sim, url, courses = routed
    for name in ("idl", "ml", "other"):
        sim.add_hook(f"stober/{name}", url, token=SECRET, events=["issues_events", "wiki_page_events"])
        sim.add_hook(f"{name}/assignments/alice", url, token=SECRET, events=["tag_push_events"])
    sim.add_issue("stober/ml", "Why attention?", author="alice", labels=["question"])
    sim.create_wiki_page("stober/idl", "blog/alice/week-1", "notes", user="alice")
    sim.push_tag("ml/assignments/alice", "a01", user="alice")
    sim.push_tag("idl/assignments/alice", "a02", user="alice")
    sim.push_tag("other/assignments/alice", "a03", user="alice")  # no course's
    sim.add_issue("stober/other", "Not ours", author="alice", labels=["question"])
    await sim.flush_hooks()
    assert {d.status for d in sim.deliveries} == {200}  # also the ones no course owns
    idl, ml = courses["idl"].events, courses["ml"].events
    assert [type(e).__name__ for e in idl] == ["WikiCreation", "TagPush"]
    assert [type(e).__name__ for e in ml] == ["QuestionChanged", "TagPush"]
    assert cast(TagPush, idl[1]).tag == "a02" and cast(TagPush, ml[1]).tag == "a01"


async def test_a_system_hooks_tag_push_goes_to_its_groups_course(
    routed: tuple[GitLabSim, str, dict[str, Course]],
) -> None:
    sim, url, courses = routed
    sim.add_system_hook(url, token=SECRET, events=["tag_push_events"])
    sim.push_tag("ml/assignments/alice", "a01", user="alice")
    await sim.flush_hooks()
    assert [cast(TagPush, e).repo_path for e in courses["ml"].events] == ["ml/assignments/alice"]
    assert courses["idl"].events == []
