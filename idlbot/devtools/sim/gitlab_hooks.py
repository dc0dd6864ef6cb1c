"""Webhook payloads and delivery of the GitLab simulator, shaped like GitLab's documented examples.

GitLab sends hooks from Sidekiq after the API call returned, never retries a failed
delivery, and reuses `Idempotency-Key` only on a manual resend. The emitter does the
same: one background task per delivery, every attempt recorded in `deliveries`.
(Over 300 lines: each payload builder mirrors one of GitLab's data builders, side by side.)
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from idlbot.devtools.sim.gitlab_admin import SYSTEM_HOOK_FLAGS
from idlbot.devtools.sim.gitlab_json import wiki_title
from idlbot.devtools.sim.gitlab_state import VERSION, Hook, Issue, Note, Project, SimState, User, WikiPage

HOOK_TIMEOUT_S = 10.0  # gitlab.webhook_timeout default


def hook_time(dt: datetime | None) -> str | None:
    """Hook timestamps are Ruby `Time#to_s` in UTC: `2026-03-05 18:22:10 UTC`."""
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def hook_user(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "username": user.username,
        "avatar_url": f"https://secure.gravatar.com/avatar/{user.username}?s=80&d=identicon",
        "email": "[REDACTED]",
    }


def hook_project(p: Project, base: str) -> dict[str, Any]:
    web = f"{base}/{p.path_with_namespace}"
    ssh = f"git@{base.split('://', 1)[-1]}:{p.path_with_namespace}.git"
    return {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "web_url": web,
        "avatar_url": None,
        "git_ssh_url": ssh,
        "git_http_url": f"{web}.git",
        "namespace": p.namespace_path,
        "visibility_level": {"private": 0, "internal": 10, "public": 20}.get(p.visibility, 0),
        "path_with_namespace": p.path_with_namespace,
        "default_branch": "main",
        "ci_config_path": None,
        "homepage": web,
        "url": ssh,
        "ssh_url": ssh,
        "http_url": f"{web}.git",
    }


def hook_repository(p: Project, base: str) -> dict[str, Any]:
    web = f"{base}/{p.path_with_namespace}"
    return {
        "name": p.name,
        "url": f"git@{base.split('://', 1)[-1]}:{p.path_with_namespace}.git",
        "description": p.description,
        "homepage": web,
    }


def hook_label(state: SimState, p: Project, title: str) -> dict[str, Any]:
    return {
        "id": state.label_id(p.id, title),
        "title": title,
        "color": "#428BCA",
        "project_id": p.id,
        "created_at": hook_time(p.created_at),
        "updated_at": hook_time(p.created_at),
        "template": False,
        "description": None,
        "type": "ProjectLabel",
        "group_id": None,
    }


def issue_hook_attrs(state: SimState, p: Project, i: Issue, base: str) -> dict[str, Any]:
    """Issue#hook_attrs: the `issue` block of Note/Emoji hooks and Issue Hook attributes."""
    return {
        "author_id": i.author_id,
        "closed_at": hook_time(i.closed_at),
        "confidential": i.confidential,
        "created_at": hook_time(i.created_at),
        "description": i.description,
        "discussion_locked": None,
        "due_date": None,
        "id": i.id,
        "iid": i.iid,
        "last_edited_at": None,
        "last_edited_by_id": None,
        "milestone_id": None,
        "moved_to_id": None,
        "duplicated_to_id": None,
        "project_id": p.id,
        "relative_position": i.id,
        "state_id": 1 if i.state == "opened" else 2,
        "time_estimate": 0,
        "title": i.title,
        "updated_at": hook_time(i.updated_at),
        "updated_by_id": None,
        "weight": None,
        "health_status": None,
        "type": "Issue",
        "url": f"{base}/{p.path_with_namespace}/-/issues/{i.iid}",
        "total_time_spent": 0,
        "time_change": 0,
        "human_total_time_spent": None,
        "human_time_change": None,
        "human_time_estimate": None,
        "assignee_ids": [],
        "assignee_id": None,
        "labels": [hook_label(state, p, t) for t in sorted(i.labels)],
        "state": i.state,
        "severity": "unknown",
    }


def issue_hook(
    state: SimState, p: Project, i: Issue, user: User, action: str, changes: dict[str, Any], base: str
) -> dict[str, Any]:
    attrs = issue_hook_attrs(state, p, i, base)
    labels = attrs["labels"]
    return {
        "object_kind": "issue",
        "event_type": "issue",
        "user": hook_user(user),
        "project": hook_project(p, base),
        "object_attributes": {
            **attrs,
            "action": action,
            "escalation_status": None,
            "escalation_policy": None,
        },
        "repository": hook_repository(p, base),
        "assignees": [],
        "labels": labels,
        "changes": changes,
    }


def note_hook(state: SimState, p: Project, i: Issue, n: Note, user: User, base: str) -> dict[str, Any]:
    url = f"{base}/{p.path_with_namespace}/-/issues/{i.iid}#note_{n.id}"
    return {
        "object_kind": "note",
        "event_type": "note",
        "user": hook_user(user),
        "project_id": p.id,
        "project": hook_project(p, base),
        "repository": hook_repository(p, base),
        "object_attributes": {
            "attachment": None,
            "author_id": n.author_id,
            "change_position": None,
            "commit_id": None,
            "created_at": hook_time(n.created_at),
            "discussion_id": uuid.uuid4().hex + uuid.uuid4().hex[:8],
            "id": n.id,
            "line_code": None,
            "note": n.body,
            "noteable_id": i.id,
            "noteable_type": "Issue",
            "original_position": None,
            "position": None,
            "project_id": p.id,
            "resolved_at": None,
            "resolved_by_id": None,
            "resolved_by_push": None,
            "st_diff": None,
            "system": n.system,
            "type": None,
            "updated_at": hook_time(n.updated_at),
            "updated_by_id": None,
            "description": n.body,
            "url": url,
            "action": "create",
        },
        "issue": issue_hook_attrs(state, p, i, base),
    }


def emoji_hook(
    state: SimState, p: Project, i: Issue, award: Any, user: User, action: str, base: str
) -> dict[str, Any]:
    """Gitlab::DataBuilder::Emoji for an award on an issue (`action` award|revoke)."""
    return {
        "object_kind": "emoji",
        "event_type": action,
        "user": hook_user(user),
        "project_id": p.id,
        "project": hook_project(p, base),
        "object_attributes": {
            "user_id": award.user_id,
            "created_at": hook_time(award.created_at),
            "id": award.id,
            "name": award.name,
            "awardable_type": "Issue",
            "awardable_id": i.id,
            "updated_at": hook_time(award.created_at),
            "action": action,
            "awarded_on_url": f"{base}/{p.path_with_namespace}/-/issues/{i.iid}",
        },
        "issue": issue_hook_attrs(state, p, i, base),
    }


def wiki_hook(p: Project, page: WikiPage, user: User, action: str, sha: str, base: str) -> dict[str, Any]:
    """No `event_type` and no timestamp in wiki payloads (the receiver stamps receipt time)."""
    web = f"{base}/{p.path_with_namespace}"
    url = f"{web}/-/wikis/{page.slug}"
    verb = {"create": "Create", "update": "Update", "delete": "Delete"}[action]
    return {
        "object_kind": "wiki_page",
        "user": hook_user(user),
        "project": hook_project(p, base),
        "wiki": {
            "web_url": f"{web}/-/wikis/home",
            "git_ssh_url": f"git@{base.split('://', 1)[-1]}:{p.path_with_namespace}.wiki.git",
            "git_http_url": f"{web}.wiki.git",
            "path_with_namespace": f"{p.path_with_namespace}.wiki",
            "default_branch": "main",
        },
        "object_attributes": {
            "title": wiki_title(page.slug),
            "content": page.content,
            "format": page.format,
            "message": f"{verb} {page.slug}",
            "slug": page.slug,
            "url": url,
            "action": action,
            "diff_url": f"{url}/diff?version_id={sha}",
            "version_id": sha,
        },
    }


def tag_push_hook(
    p: Project, user: User, tag: str, before: str, after: str, base: str, message: str = ""
) -> dict[str, Any]:
    """Gitlab::DataBuilder::Push for a tag ref; a deletion has `after` all zeros."""
    deleted = set(after) == {"0"}
    return {
        "object_kind": "tag_push",
        "event_name": "tag_push",
        "before": before,
        "after": after,
        "ref": f"refs/tags/{tag}",
        "ref_protected": False,
        "checkout_sha": None if deleted else after,
        "message": message or None,
        "user_id": user.id,
        "user_name": user.name,
        "user_username": user.username,
        "user_email": "",
        "user_avatar": f"https://secure.gravatar.com/avatar/{user.username}?s=80&d=identicon",
        "project_id": p.id,
        "project": hook_project(p, base),
        "commits": [],
        "total_commits_count": 0,
        "push_options": {},
        "repository": {
            **hook_repository(p, base),
            "git_http_url": f"{base}/{p.path_with_namespace}.git",
            "git_ssh_url": hook_project(p, base)["git_ssh_url"],
            "visibility_level": hook_project(p, base)["visibility_level"],
        },
    }


def repository_update_hook(
    p: Project, user: User, ref: str, before: str, after: str, base: str
) -> dict[str, Any]:
    """The system hook's `repository_update` (once per push, tags included; docs
    administration/system_hooks.md "Repository Update events")."""
    return {
        "event_name": "repository_update",
        "user_id": user.id,
        "user_name": user.name,
        "user_email": "",
        "user_avatar": f"https://secure.gravatar.com/avatar/{user.username}?s=80&d=identicon",
        "project_id": p.id,
        "project": hook_project(p, base),
        "changes": [{"before": before, "after": after, "ref": ref}],
        "refs": [ref],
    }


@dataclass
class HookDelivery:
    """One POST the simulator made (or tried) to a hook URL."""

    hook_id: int
    url: str
    event: str  # X-Gitlab-Event
    headers: dict[str, str]
    body: dict[str, Any]
    idempotency_key: str
    status: int | None = None  # None: connection error or timeout
    error: str | None = None

    @property
    def ok(self) -> bool:
        """2xx and 3xx count as success (WebHookService#response_category)."""
        return self.status is not None and 200 <= self.status < 400


class Emitter:
    """Sends hooks in the background; never retries; `enabled = False` drops them silently.

    Project hooks get `X-Gitlab-Event` of the kind (`Tag Push Hook`); the instance's system
    hooks that subscribe to the same flag get the same body as `System Hook`."""

    def __init__(
        self, instance_url: Callable[[], str], system_hooks: Callable[[], Iterable[Hook]] = tuple
    ) -> None:
        self._instance_url = instance_url
        self._system_hooks = system_hooks
        self.enabled = True
        self.deliveries: list[HookDelivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def emit(self, project: Project, flag: str, event: str, body: dict[str, Any]) -> None:
        """Queue `body` for every hook of `project` that has `flag` on (e.g. `issues_events`),
        and for every system hook with it (only push, tag push, merge request events)."""
        if not self.enabled:
            return
        event_uuid = str(uuid.uuid4())  # shared by every hook the one action triggers
        for hook in list(project.hooks.values()):
            if hook.events.get(flag, False):
                self._deliver(hook, event, body, event_uuid)
        self._emit_system(flag, body, event_uuid)

    def emit_system(self, flag: str, body: dict[str, Any]) -> None:
        """An instance-level event only system hooks get (`repository_update`)."""
        if self.enabled:
            self._emit_system(flag, body, str(uuid.uuid4()))

    def _emit_system(self, flag: str, body: dict[str, Any], event_uuid: str) -> None:
        for hook in list(self._system_hooks()):
            if flag in SYSTEM_HOOK_FLAGS and hook.events.get(flag, False):
                self._deliver(hook, "System Hook", body, event_uuid)

    def _deliver(self, hook: Hook, event: str, body: dict[str, Any], event_uuid: str) -> None:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"GitLab/{VERSION}",
            "X-Gitlab-Event": event,
            "X-Gitlab-Webhook-UUID": str(uuid.uuid4()),
            "X-Gitlab-Instance": self._instance_url(),
            "X-Gitlab-Event-UUID": event_uuid,
            "Idempotency-Key": str(uuid.uuid4()),
        }
        if hook.token:
            headers["X-Gitlab-Token"] = hook.token.replace("\n", "").replace("\r", "")
        self._spawn(HookDelivery(hook.id, hook.url, event, headers, body, headers["Idempotency-Key"]))

    def _spawn(self, delivery: HookDelivery) -> None:
        self.deliveries.append(delivery)
        task = asyncio.get_running_loop().create_task(self._send(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, delivery: HookDelivery) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        data = json.dumps(delivery.body).encode()
        try:
            async with self._session.post(
                delivery.url,
                data=data,
                headers=delivery.headers,
                timeout=aiohttp.ClientTimeout(total=HOOK_TIMEOUT_S),
                allow_redirects=False,
            ) as resp:
                await resp.read()
                delivery.status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"

    def redeliver(self, n: int = -1) -> HookDelivery:
        """ "Resend Request": same body and Idempotency-Key, a new X-Gitlab-Webhook-UUID."""
        old = self.deliveries[n]
        headers = {**old.headers, "X-Gitlab-Webhook-UUID": str(uuid.uuid4())}
        again = HookDelivery(old.hook_id, old.url, old.event, headers, old.body, old.idempotency_key)
        self._spawn(again)
        return again

    async def drain(self) -> None:
        """Wait until every queued delivery finished (tests assert after this)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        if self._session is not None:
            await self._session.close()
            self._session = None
