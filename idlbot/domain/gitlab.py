"""What the bot learns from GitLab, as plain values (the adapter builds them from the
REST API or from webhook payloads; the rules never see a python-gitlab object)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Repo:
    """A repository in the assignments group: one student's, or an assignment group's."""

    id: int
    path: str  # path_with_namespace, e.g. "idl2018/assignments/team-alice"
    members: tuple[str, ...]  # GitLab usernames of its (non-bot, non-staff) members
    archived: bool = False  # read-only in GitLab: nobody can push a hand-in to it


@dataclass(frozen=True)
class TagPush:
    """A hand-in: a tag pushed to a repository. `pushed_at` is when GitLab received the
    push (push event / Tag Push Hook), never the commit date."""

    repo_id: int
    repo_path: str
    tag: str  # "a03" (without refs/tags/)
    pushed_at: datetime  # aware, UTC
    pusher: str  # GitLab username
    deleted: bool = False  # a tag deletion (after_sha all zeros) hands nothing in


@dataclass(frozen=True)
class WikiCreation:
    """A wiki page creation in the course project (author and time come from the events
    API or the Wiki Page Hook; the wiki API itself has neither)."""

    slug: str  # "blog/alice/week-1"
    title: str
    author: str  # GitLab username
    created_at: datetime  # aware, UTC


@dataclass(frozen=True)
class QuestionChanged:
    """Something about issue `iid` changed (opened, edited, commented, thumbs-up): re-read
    it, since no hook carries upvote counts."""

    project_id: int
    iid: int
