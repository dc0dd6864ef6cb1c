"""In-memory state of the GitLab simulator: users, groups, projects and what hangs off them.

Plain dataclasses; the JSON shapes live in `gitlab_json` and the mutations that also
record events and fire webhooks live in `gitlab_ops`, so REST handlers and the seeding
API change state through one path.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

VERSION = "18.9.2"
REVISION = "4a7b0c1d2e3"

# Access levels (gitlab.const.AccessLevel).
GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50

#: Event action names the Events API accepts in `action=` (Event::ACTIONS).
EVENT_ACTIONS = (
    "created", "updated", "closed", "reopened", "pushed", "commented", "merged", "joined",
    "left", "destroyed", "expired", "approved",
)  # fmt: skip
#: `target_type=` query values → the stored class name (EventFilter / Event::TARGET_TYPES).
TARGET_TYPES = {
    "issue": "Issue", "milestone": "Milestone", "merge_request": "MergeRequest", "note": "Note",
    "project": "Project", "snippet": "Snippet", "user": "User", "wiki": "WikiPage::Meta",
    "design": "DesignManagement::Design",
}  # fmt: skip


def real_now() -> datetime:
    return datetime.now(UTC)


def new_sha() -> str:
    return secrets.token_hex(20)


@dataclass
class User:
    id: int
    username: str
    name: str
    bot: bool = False
    admin: bool = False
    email: str = ""


@dataclass
class Group:
    id: int
    full_path: str
    name: str
    parent_id: int | None
    visibility: str
    created_at: datetime
    members: dict[int, int] = field(default_factory=dict)  # user id -> access level


@dataclass
class Hook:
    """A project hook (`project_id` set) or a system hook (`project_id` None, admin-only)."""

    id: int
    project_id: int | None
    url: str
    token: str
    events: dict[str, bool]  # push_events, tag_push_events, issues_events, ...
    created_at: datetime
    enable_ssl_verification: bool = True


@dataclass
class Award:
    id: int
    name: str
    user_id: int
    awardable_id: int
    created_at: datetime


@dataclass
class Note:
    id: int
    body: str
    author_id: int
    created_at: datetime
    updated_at: datetime
    system: bool = False


@dataclass
class Issue:
    id: int
    iid: int
    project_id: int
    title: str
    description: str | None
    author_id: int
    labels: set[str]
    created_at: datetime
    updated_at: datetime
    state: str = "opened"
    closed_at: datetime | None = None
    confidential: bool = False
    awards: list[Award] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def count_awards(self, name: str) -> int:
        """`upvotes` counts exactly `thumbsup` (AwardEmoji::UPVOTE_NAME), no skin tones."""
        return sum(1 for a in self.awards if a.name == name)

    @property
    def user_notes_count(self) -> int:
        return sum(1 for n in self.notes if not n.system)


@dataclass
class WikiPage:
    slug: str
    content: str
    format: str
    meta_id: int


@dataclass
class Tag:
    name: str
    target: str
    created_at: datetime
    message: str = ""


@dataclass
class Event:
    id: int
    project_id: int
    action: str  # one of EVENT_ACTIONS
    action_name: str  # "pushed new", "deleted", "created", "commented on", ...
    author_id: int
    created_at: datetime
    target_type: str | None = None
    target_id: int | None = None
    target_iid: int | None = None
    target_title: str | None = None
    push_data: dict[str, Any] | None = None
    wiki_page: dict[str, Any] | None = None


@dataclass
class Project:
    id: int
    path_with_namespace: str
    name: str
    namespace_id: int | None
    visibility: str
    created_at: datetime
    description: str = ""
    archived: bool = False  # read-only: no pushes; still listed unless `archived=false` is asked
    members: dict[int, int] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)
    wiki: dict[str, WikiPage] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    hooks: dict[int, Hook] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.path_with_namespace.rsplit("/", 1)[-1]

    @property
    def namespace_path(self) -> str:
        return self.path_with_namespace.rsplit("/", 1)[0] if "/" in self.path_with_namespace else ""


class SimState:
    """Every entity, keyed by id, plus one id counter per table like a database."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.users: dict[int, User] = {}
        self.tokens: dict[str, int] = {}
        self.groups: dict[int, Group] = {}
        self.projects: dict[int, Project] = {}
        self.events: list[Event] = []
        self.system_hooks: dict[int, Hook] = {}  # instance-wide (POST /hooks, admin only)
        self.label_ids: dict[tuple[int, str], int] = {}
        self._counters: dict[str, int] = {}

    def next_id(self, table: str, start: int = 1) -> int:
        value = self._counters.get(table, start - 1) + 1
        self._counters[table] = value
        return value

    def label_id(self, project_id: int, title: str) -> int:
        key = (project_id, title)
        if key not in self.label_ids:
            self.label_ids[key] = self.next_id("label", 200)
        return self.label_ids[key]

    def now(self) -> datetime:
        value = self.clock()
        if value.tzinfo is None:
            raise ValueError("sim.clock must return an aware datetime")
        return value.astimezone(UTC)

    # ---- lookups -------------------------------------------------------------------------
    def user_by_name(self, username: str) -> User | None:
        wanted = username.lower()  # GitLab matches usernames case-insensitively
        return next((u for u in self.users.values() if u.username.lower() == wanted), None)

    def require_user(self, username: str) -> User:
        user = self.user_by_name(username)
        if user is None:
            raise KeyError(f"no such user: {username}")
        return user

    def group(self, ref: str) -> Group | None:
        """`:id` is a number or the full path (python-gitlab sends it URL-encoded)."""
        if ref.isdigit():
            return self.groups.get(int(ref))
        return next((g for g in self.groups.values() if g.full_path.lower() == ref.lower()), None)

    def project(self, ref: str | int) -> Project | None:
        if isinstance(ref, int) or ref.isdigit():
            return self.projects.get(int(ref))
        wanted = ref.lower()
        return next((p for p in self.projects.values() if p.path_with_namespace.lower() == wanted), None)

    def require_project(self, ref: str | int) -> Project:
        project = self.project(ref)
        if project is None:
            raise KeyError(f"no such project: {ref}")
        return project

    def ancestors(self, group_id: int | None) -> list[Group]:
        out: list[Group] = []
        while group_id is not None:
            group = self.groups[group_id]
            out.append(group)
            group_id = group.parent_id
        return out

    def descendants(self, group: Group) -> list[Group]:
        out = [group]
        for g in self.groups.values():
            if g.parent_id == group.id:
                out.extend(self.descendants(g))
        return out

    # ---- membership and access -----------------------------------------------------------
    def group_members_all(self, group: Group) -> dict[int, int]:
        """Direct plus inherited members, highest level per user (members/all)."""
        merged: dict[int, int] = {}
        for g in reversed(self.ancestors(group.id)):
            for uid, level in g.members.items():
                merged[uid] = max(level, merged.get(uid, 0))
        return merged

    def project_members_all(self, project: Project) -> dict[int, int]:
        merged = dict(project.members)
        for g in self.ancestors(project.namespace_id):
            for uid, level in g.members.items():
                merged[uid] = max(level, merged.get(uid, 0))
        return merged

    def project_level(self, project: Project, user: User) -> int:
        return self.project_members_all(project).get(user.id, 0)

    def can_read_project(self, project: Project, user: User) -> bool:
        """Private projects are invisible (404, not 403) without membership."""
        if user.admin or project.visibility in ("public", "internal"):
            return True
        return self.project_level(project, user) > 0

    def can_read_group(self, group: Group, user: User) -> bool:
        if user.admin or group.visibility in ("public", "internal"):
            return True
        if self.group_members_all(group).get(user.id, 0) > 0:
            return True
        # Members of a project below the group can see the group (shared membership).
        ids = {g.id for g in self.descendants(group)}
        return any(
            p.namespace_id in ids and user.id in self.project_members_all(p) for p in self.projects.values()
        )
