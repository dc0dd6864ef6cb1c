"""Shared pieces for the qualification tests: the 2018 course with two teams, and an
in-memory GitLab that implements the `GitLab` port (no HTTP, no simulator)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from idlbot.config import GitLabSettings
from idlbot.domain.course import Course
from idlbot.domain.gitlab import Repo, TagPush, WikiCreation
from idlbot.domain.settings import Team
from tests.unit.course_2018 import course_2018

T0 = datetime(2018, 10, 16, 10, 0, tzinfo=UTC)  # a01 is due 2018-10-16 23:59 Berlin
SETTINGS = GitLabSettings(url="https://gitlab.test", project="stober/idl2018", assignments_group="idl2018/a")
HEADER = "mattermost_username,gitlab_username,cluster_username,exercise_group,team\n"


def course() -> Course:
    teams = (
        Team("lyrics-a", "Team A", "teams/lyrics-a"),
        Team("lyrics-b", "Team B", "teams/lyrics-b"),
    )
    return dataclasses.replace(course_2018(), teams=teams)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class FakeGitLab:
    """The `GitLab` port from literal values; `since` filters like the events API."""

    def __init__(self) -> None:
        self.repos: list[Repo] = []
        self.pushes: dict[int, list[TagPush]] = {}
        self.pages: list[WikiCreation] = []
        self.repo_calls = 0

    def add_repo(self, repo_id: int, *members: str) -> Repo:
        repo = Repo(repo_id, f"idl2018/a/repo-{repo_id}", tuple(members))
        self.repos.append(repo)
        self.pushes.setdefault(repo_id, [])
        return repo

    def push(self, repo_id: int, tag: str, when: datetime, pusher: str, *, deleted: bool = False) -> TagPush:
        event = TagPush(repo_id, f"idl2018/a/repo-{repo_id}", tag, when, pusher, deleted)
        self.pushes.setdefault(repo_id, []).append(event)
        return event

    def page(self, slug: str, author: str, when: datetime) -> WikiCreation:
        event = WikiCreation(slug, slug.rsplit("/", 1)[-1].replace("-", " "), author, when)
        self.pages.append(event)
        return event

    async def assignment_repos(self) -> list[Repo]:
        self.repo_calls += 1
        return list(self.repos)

    async def tag_pushes(self, repo_id: int, *, since: datetime | None = None) -> list[TagPush]:
        return [p for p in self.pushes.get(repo_id, []) if since is None or p.pushed_at >= since]

    async def wiki_creations(self, *, since: datetime | None = None) -> list[WikiCreation]:
        return [p for p in self.pages if since is None or p.created_at >= since]


def roster_csv(rows: list[tuple[str, str, str, str, str]]) -> str:
    return HEADER + "".join(",".join(r) + "\n" for r in rows)
