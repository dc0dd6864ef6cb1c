"""The GitLab simulator's REST surface, driven by the real python-gitlab over real sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import gitlab
import pytest
import requests

from idlbot.devtools.sim.gitlab import GitLabSim

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COURSE = "idl2018/course"


@pytest.fixture
async def gsim() -> AsyncIterator[GitLabSim]:
    async with GitLabSim(clock=lambda: T0) as server:
        server.add_user("prof", name="Prof Stober")
        server.add_user("alice", name="Alice")
        server.add_user("mallory")
        server.add_group("idl2018", members={"prof": 50})
        server.add_project(COURSE, members=["alice"])
        yield server


def client(sim: GitLabSim, user: str = "prof", **kw: object) -> gitlab.Gitlab:
    return gitlab.Gitlab(sim.url, private_token=sim.issue_token(user), timeout=5, **kw)  # type: ignore[arg-type]


async def test_pagination_three_pages_follows_absolute_link(gsim: GitLabSim) -> None:
    for n in range(45):
        gsim.add_issue(COURSE, f"q{n}", author="alice", at=T0 + timedelta(minutes=n))
    gl = client(gsim)
    issues = await asyncio.to_thread(
        lambda: gl.projects.get(COURSE).issues.list(state="opened", get_all=True, per_page=20)
    )
    assert [i.iid for i in issues] == list(range(45, 0, -1))  # created_at desc
    pages = gsim.routed("/projects/:id/issues")
    assert len(pages) == 3
    first = pages[0].response_headers
    assert (first["X-Page"], first["X-Per-Page"], first["X-Next-Page"], first["X-Prev-Page"]) == (
        "1",
        "20",
        "2",
        "",
    )
    assert (first["X-Total"], first["X-Total-Pages"]) == ("45", "3")
    assert first["Link"].startswith(f"<{gsim.url}/api/v4/projects/")
    assert (
        'rel="next"' in first["Link"] and 'rel="last"' in first["Link"] and 'rel="prev"' not in first["Link"]
    )
    last = pages[2].response_headers
    assert last["X-Next-Page"] == "" and 'rel="next"' not in last["Link"]
    assert ("page", "2") in pages[1].query and ("state", "opened") in pages[1].query


async def test_popularity_order_250_issues_one_request_per_page(gsim: GitLabSim) -> None:
    for n in range(250):
        gsim.add_issue(COURSE, f"q{n}", author="alice", labels=["question"])
    voters = [f"s{k}" for k in range(3)]
    for v in voters:
        gsim.add_user(v)
        gsim.add_member(COURSE, v)
    votes = {}
    for iid in range(1, 251):
        count = iid % 4 if iid % 4 < 3 else 0  # 0..2 thumbs up, lots of ties
        votes[iid] = count
        for v in voters[:count]:
            gsim.award(COURSE, iid, "thumbsup", user=v)
    gsim.award(COURSE, 5, "thumbsup_tone3", user="alice")  # does not count
    gsim.award(COURSE, 5, "thumbsdown", user="prof")  # not subtracted
    gl = client(gsim)
    before = len(gsim.requests)
    got = await asyncio.to_thread(
        lambda: gl.projects.get(COURSE).issues.list(
            state="opened", order_by="popularity", sort="desc", labels="question", get_all=True, per_page=100
        )
    )
    ids = {i.iid: i.id for i in got}
    expected = sorted(votes, key=lambda iid: (-votes[iid], -ids[iid]))
    assert [i.iid for i in got] == expected
    assert len(gsim.requests) - before == 1 + 3  # project + 3 pages, nothing per item
    assert next(i for i in got if i.iid == 5).upvotes == votes[5]


async def test_bad_token_401_and_bearer_works(gsim: GitLabSim) -> None:
    bad = gitlab.Gitlab(gsim.url, private_token="glpat-nope", timeout=5)
    with pytest.raises(gitlab.GitlabAuthenticationError) as info:
        await asyncio.to_thread(bad.auth)
    assert info.value.response_code == 401 and info.value.error_message == "401 Unauthorized"
    oauth = gitlab.Gitlab(gsim.url, oauth_token=gsim.issue_token("alice"), timeout=5)
    await asyncio.to_thread(oauth.auth)
    assert oauth.user is not None and oauth.user.username == "alice"


async def test_private_project_is_404_and_encoded_or_numeric_ids(gsim: GitLabSim) -> None:
    pid = gsim.project(COURSE).id
    with pytest.raises(gitlab.GitlabGetError) as info:
        await asyncio.to_thread(client(gsim, "mallory").projects.get, COURSE)
    assert info.value.response_code == 404 and info.value.error_message == "404 Project Not Found"
    gl = client(gsim, "alice")
    by_path = await asyncio.to_thread(gl.projects.get, COURSE)
    by_id = await asyncio.to_thread(gl.projects.get, pid)
    assert by_path.id == by_id.id == pid
    assert gsim.requests[-2].path == "/api/v4/projects/idl2018%2Fcourse"
    assert by_path.web_url == f"{gsim.url}/{COURSE}"


async def test_unknown_route_and_invalid_enum(gsim: GitLabSim) -> None:
    token = gsim.issue_token("prof")
    r = await asyncio.to_thread(requests.get, f"{gsim.url}/api/v4/nope", headers={"PRIVATE-TOKEN": token})
    assert (r.status_code, r.json()) == (404, {"error": "404 Not Found"})
    url = f"{gsim.url}/api/v4/projects/idl2018%2Fcourse/issues?order_by=votes"
    r = await asyncio.to_thread(requests.get, url, headers={"PRIVATE-TOKEN": token})
    assert (r.status_code, r.json()) == (400, {"error": "order_by does not have a valid value"})


async def test_wiki_create_update_list_and_raw_slug(gsim: GitLabSim) -> None:
    gl = client(gsim, "alice")
    project = await asyncio.to_thread(gl.projects.get, COURSE)
    page = await asyncio.to_thread(project.wikis.create, {"title": "blog/alice/My Post", "content": "v1"})
    assert (page.slug, page.title) == ("blog/alice/My-Post", "My Post")
    with pytest.raises(gitlab.GitlabCreateError) as info:
        await asyncio.to_thread(project.wikis.create, {"title": "blog/alice/My Post", "content": "v2"})
    assert info.value.response_code == 400
    await asyncio.to_thread(project.wikis.update, "blog/alice/My-Post", {"content": "v2"})
    listed = await asyncio.to_thread(project.wikis.list)
    assert [w.slug for w in listed] == ["blog/alice/My-Post"] and not hasattr(listed[0], "content")
    assert "X-Page" not in gsim.requests[-1].response_headers  # the wiki list is not paginated
    raw = f"{gsim.url}/api/v4/projects/{project.id}/wikis/blog/alice/My-Post"
    r = await asyncio.to_thread(requests.get, raw, headers={"PRIVATE-TOKEN": gsim.issue_token("alice")})
    assert r.json()["content"] == "v2"
    with pytest.raises(gitlab.GitlabGetError) as missing:
        await asyncio.to_thread(project.wikis.get, "blog/alice/none")
    assert missing.value.error_message == "404 Wiki Page Not Found"


async def test_events_filters(gsim: GitLabSim) -> None:
    gsim.create_wiki_page(COURSE, "blog/alice/w1", "x", user="alice", at=T0)
    gsim.create_wiki_page(COURSE, "blog/alice/w2", "x", user="alice", at=T0 + timedelta(days=2))
    gsim.push_tag(COURSE, "a01", user="alice", at=T0 + timedelta(hours=1))
    gsim.delete_tag(COURSE, "a01", user="alice", at=T0 + timedelta(hours=2))
    project = await asyncio.to_thread(client(gsim).projects.get, COURSE)

    def events(**kw: Any) -> list[dict[str, Any]]:
        return [e.attributes for e in project.events.list(get_all=True, **kw)]

    wiki = await asyncio.to_thread(events, target_type="wiki", action="created", sort="asc")
    assert [e["wiki_page"]["slug"] for e in wiki] == ["blog/alice/w1", "blog/alice/w2"]
    assert wiki[0]["target_type"] == "WikiPage::Meta" and wiki[0]["created_at"] == "2026-03-02T09:00:00.000Z"
    later = await asyncio.to_thread(events, target_type="wiki", after="2026-03-02")  # exclusive date
    assert [e["target_title"] for e in later] == ["w2"]
    pushes = await asyncio.to_thread(events, action="pushed", sort="asc")
    assert [(e["action_name"], e["push_data"]["ref"]) for e in pushes] == [
        ("pushed new", "a01"),
        ("deleted", "a01"),
    ]
    assert pushes[0]["push_data"]["ref_type"] == "tag"
    assert pushes[0]["created_at"] == "2026-03-02T10:00:00.000Z"


async def test_awards_and_notes(gsim: GitLabSim) -> None:
    gsim.add_issue(COURSE, "Why?", author="alice")
    project = await asyncio.to_thread(client(gsim, "alice").projects.get, COURSE)
    issue = await asyncio.to_thread(project.issues.get, 1)
    award = await asyncio.to_thread(issue.awardemojis.create, {"name": "thumbsup"})
    with pytest.raises(gitlab.GitlabCreateError) as dup:
        await asyncio.to_thread(issue.awardemojis.create, {"name": "thumbsup"})
    assert (dup.value.response_code, dup.value.error_message) == (
        404,
        "404 Award Emoji Name has already been taken Not Found",
    )
    await asyncio.to_thread(issue.notes.create, {"body": "me too"})
    fresh = await asyncio.to_thread(project.issues.get, 1)
    assert (fresh.upvotes, fresh.user_notes_count) == (1, 1)
    await asyncio.to_thread(issue.awardemojis.delete, award.id)
    assert (await asyncio.to_thread(project.issues.get, 1)).upvotes == 0


async def test_429_retry_after_is_honoured(gsim: GitLabSim) -> None:
    gl = client(gsim)
    gsim.faults.rate_limit(per_sec=1.0, burst=1)
    started = time.monotonic()
    await asyncio.to_thread(gl.projects.get, COURSE)
    await asyncio.to_thread(gl.projects.get, COURSE)  # throttled once, retried after Retry-After: 1
    elapsed = time.monotonic() - started
    limited = [r for r in gsim.requests if r.status == 429]
    assert len(limited) >= 1 and 0.9 <= elapsed < 3.0
    h = limited[0].response_headers
    assert h["Retry-After"] == "1" and h["Content-Type"].startswith("text/plain")
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-ResetTime"} <= set(h)


async def test_5xx_retried_only_when_asked(gsim: GitLabSim) -> None:
    gsim.faults.fail_next(1, status=500)
    with pytest.raises(gitlab.GitlabGetError) as info:
        await asyncio.to_thread(client(gsim).projects.get, COURSE)
    assert info.value.response_code == 500
    gsim.faults.fail_next(2, status=502)
    project = await asyncio.to_thread(client(gsim, retry_transient_errors=True).projects.get, COURSE)
    assert project.path_with_namespace == COURSE


def test_timestamps_are_utc_whatever_zone_they_were_seeded_in() -> None:
    """Regression: a push seeded at 21:05 Europe/Berlin was served as 21:05Z."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from idlbot.devtools.sim.gitlab_json import iso

    assert iso(datetime(2018, 10, 16, 21, 5, tzinfo=ZoneInfo("Europe/Berlin"))) == "2018-10-16T19:05:00.000Z"
