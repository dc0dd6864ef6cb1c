"""REST JSON shapes of the GitLab simulator (`lib/api/entities/*`, examples/rest_*.json).

Every builder takes `base`, the URL the client used (scheme://host:port), because
python-gitlab warns when `web_url`/Link URLs do not start with its configured URL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from idlbot.devtools.sim.gitlab_state import (
    Award,
    Event,
    Group,
    Hook,
    Issue,
    Note,
    Project,
    SimState,
    Tag,
    User,
    WikiPage,
)


def iso(dt: datetime | None) -> str | None:
    """REST timestamps: ISO 8601 with milliseconds and `Z` (`2026-03-05T18:22:10.120Z`)."""
    if dt is None:
        return None
    dt = dt.astimezone(UTC)  # seeded times may come in any zone; `Z` must be UTC
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def wiki_title(slug: str) -> str:
    """WikiPage#title: the last slug segment with dashes turned into spaces (REPORT addendum)."""
    return slug.rsplit("/", 1)[-1].replace("-", " ")


def user_basic(user: User, base: str) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "state": "active",
        "locked": False,
        "avatar_url": f"https://secure.gravatar.com/avatar/{user.username}?s=80&d=identicon",
        "web_url": f"{base}/{user.username}",
    }


def current_user(user: User, base: str, created_at: datetime) -> dict[str, Any]:
    return {
        **user_basic(user, base),
        "created_at": iso(created_at),
        "bot": user.bot,
        "email": user.email,
        "is_admin": user.admin,
        "public_email": None,
        "two_factor_enabled": False,
        "external": False,
    }


def member(user: User, level: int, base: str, created_at: datetime) -> dict[str, Any]:
    return {
        **user_basic(user, base),
        "access_level": level,
        "created_at": iso(created_at),
        "expires_at": None,
        "membership_state": "active",
    }


def namespace(state: SimState, project: Project, base: str) -> dict[str, Any]:
    group = state.groups.get(project.namespace_id) if project.namespace_id is not None else None
    path = project.namespace_path
    return {
        "id": group.id if group else 0,
        "name": group.name if group else path,
        "path": path.rsplit("/", 1)[-1],
        "kind": "group" if group else "user",
        "full_path": path,
        "parent_id": group.parent_id if group else None,
        "avatar_url": None,
        "web_url": f"{base}/groups/{path}" if group else f"{base}/{path}",
    }


def project(state: SimState, p: Project, base: str) -> dict[str, Any]:
    web = f"{base}/{p.path_with_namespace}"
    return {
        "id": p.id,
        "description": p.description,
        "name": p.name,
        "name_with_namespace": p.path_with_namespace.replace("/", " / "),
        "path": p.path,
        "path_with_namespace": p.path_with_namespace,
        "created_at": iso(p.created_at),
        "default_branch": "main",
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": f"git@{base.split('://', 1)[-1]}:{p.path_with_namespace}.git",
        "http_url_to_repo": f"{web}.git",
        "web_url": web,
        "readme_url": None,
        "forks_count": 0,
        "avatar_url": None,
        "star_count": 0,
        "last_activity_at": iso(p.created_at),
        "namespace": namespace(state, p, base),
        "visibility": p.visibility,
        "issues_enabled": True,
        "wiki_enabled": True,
        "archived": p.archived,
        "_links": {
            "self": f"{base}/api/v4/projects/{p.id}",
            "issues": f"{base}/api/v4/projects/{p.id}/issues",
            "repo_branches": f"{base}/api/v4/projects/{p.id}/repository/branches",
            "labels": f"{base}/api/v4/projects/{p.id}/labels",
            "events": f"{base}/api/v4/projects/{p.id}/events",
            "members": f"{base}/api/v4/projects/{p.id}/members",
        },
    }


def group(g: Group, base: str) -> dict[str, Any]:
    return {
        "id": g.id,
        "web_url": f"{base}/groups/{g.full_path}",
        "name": g.name,
        "path": g.full_path.rsplit("/", 1)[-1],
        "description": "",
        "visibility": g.visibility,
        "full_name": g.full_path.replace("/", " / "),
        "full_path": g.full_path,
        "created_at": iso(g.created_at),
        "parent_id": g.parent_id,
        "avatar_url": None,
    }


def issue(state: SimState, p: Project, i: Issue, base: str) -> dict[str, Any]:
    author = state.users[i.author_id]
    api = f"{base}/api/v4/projects/{p.id}"
    return {
        "id": i.id,
        "iid": i.iid,
        "project_id": p.id,
        "title": i.title,
        "description": i.description,
        "state": i.state,
        "created_at": iso(i.created_at),
        "updated_at": iso(i.updated_at),
        "closed_at": iso(i.closed_at),
        "closed_by": None,
        "labels": sorted(i.labels),
        "milestone": None,
        "assignees": [],
        "author": user_basic(author, base),
        "type": "ISSUE",
        "assignee": None,
        "user_notes_count": i.user_notes_count,
        "merge_requests_count": 0,
        "upvotes": i.count_awards("thumbsup"),
        "downvotes": i.count_awards("thumbsdown"),
        "due_date": None,
        "confidential": i.confidential,
        "discussion_locked": None,
        "issue_type": "issue",
        "web_url": f"{base}/{p.path_with_namespace}/-/issues/{i.iid}",
        "time_stats": {
            "time_estimate": 0,
            "total_time_spent": 0,
            "human_time_estimate": None,
            "human_total_time_spent": None,
        },
        "task_completion_status": {"count": 0, "completed_count": 0},
        "has_tasks": False,
        "_links": {
            "self": f"{api}/issues/{i.iid}",
            "notes": f"{api}/issues/{i.iid}/notes",
            "award_emoji": f"{api}/issues/{i.iid}/award_emoji",
            "project": api,
            "closed_as_duplicate_of": None,
        },
        "references": {
            "short": f"#{i.iid}",
            "relative": f"#{i.iid}",
            "full": f"{p.path_with_namespace}#{i.iid}",
        },
        "severity": "UNKNOWN",
        "moved_to_id": None,
        "imported": False,
        "imported_from": "none",
        "service_desk_reply_to": None,
    }


def award(state: SimState, a: Award, base: str) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "user": user_basic(state.users[a.user_id], base),
        "created_at": iso(a.created_at),
        "updated_at": iso(a.created_at),
        "awardable_id": a.awardable_id,
        "awardable_type": "Issue",
        "url": None,
    }


def note(state: SimState, p: Project, i: Issue, n: Note, base: str) -> dict[str, Any]:
    return {
        "id": n.id,
        "type": None,
        "body": n.body,
        "author": user_basic(state.users[n.author_id], base),
        "created_at": iso(n.created_at),
        "updated_at": iso(n.updated_at),
        "system": n.system,
        "noteable_id": i.id,
        "noteable_type": "Issue",
        "project_id": p.id,
        "resolvable": False,
        "confidential": False,
        "internal": False,
        "imported": False,
        "imported_from": "none",
        "noteable_iid": i.iid,
        "commands_changes": {},
    }


def wiki_basic(w: WikiPage) -> dict[str, Any]:
    return {"format": w.format, "slug": w.slug, "title": wiki_title(w.slug), "wiki_page_meta_id": w.meta_id}


def wiki_full(w: WikiPage) -> dict[str, Any]:
    return {**wiki_basic(w), "content": w.content, "encoding": "UTF-8", "front_matter": {}}


def event(state: SimState, e: Event, base: str) -> dict[str, Any]:
    author = state.users[e.author_id]
    out: dict[str, Any] = {
        "id": e.id,
        "project_id": e.project_id,
        "action_name": e.action_name,
        "target_id": e.target_id,
        "target_iid": e.target_iid,
        "target_type": e.target_type,
        "author_id": e.author_id,
        "target_title": e.target_title,
        "created_at": iso(e.created_at),
        "author": user_basic(author, base),
        "imported": False,
        "imported_from": "none",
    }
    if e.push_data is not None:
        out["push_data"] = e.push_data
    if e.wiki_page is not None:
        out["wiki_page"] = e.wiki_page
    out["author_username"] = author.username
    return out


def tag(t: Tag) -> dict[str, Any]:
    return {
        "name": t.name,
        "message": t.message,
        "target": t.target,
        "commit": {"id": t.target, "short_id": t.target[:8], "created_at": iso(t.created_at)},
        "release": None,
        "protected": False,
        "created_at": iso(t.created_at) if t.message else None,
    }


HOOK_EVENT_FLAGS = (
    "push_events", "tag_push_events", "issues_events", "confidential_issues_events", "note_events",
    "confidential_note_events", "merge_requests_events", "wiki_page_events", "emoji_events",
    "pipeline_events", "job_events", "releases_events",
)  # fmt: skip


def hook(h: Hook) -> dict[str, Any]:
    """ProjectHook entity: the token is never returned."""
    return {
        "id": h.id,
        "url": h.url,
        "name": None,
        "description": None,
        "project_id": h.project_id,
        "created_at": iso(h.created_at),
        **{flag: h.events.get(flag, False) for flag in HOOK_EVENT_FLAGS},
        "enable_ssl_verification": h.enable_ssl_verification,
        "alert_status": "executable",
        "disabled_until": None,
        "custom_headers": [],
    }
