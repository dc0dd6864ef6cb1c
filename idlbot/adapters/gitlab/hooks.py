"""GitLab webhook requests → domain values.

GitLab authenticates a hook only with `X-Gitlab-Token`, the plain shared secret (no
HMAC), never retries, and may deliver twice (manual resend, group + project hooks):
verify in constant time, dedupe on `Idempotency-Key`, answer 2xx fast.
Tag Push and Wiki Page payloads carry no time, so the receive time stands in.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from idlbot.domain.gitlab import QuestionChanged, TagPush, WikiCreation

#: Hook flags `GitLabClient.ensure_project_hook` manages (the rest stay off).
HOOK_FLAGS = (
    "push_events", "tag_push_events", "issues_events", "confidential_issues_events", "note_events",
    "confidential_note_events", "wiki_page_events", "emoji_events", "merge_requests_events",
)  # fmt: skip
QUESTION_EVENTS = {
    "Issue Hook",
    "Note Hook",
    "Emoji Hook",
    "Confidential Issue Hook",
    "Confidential Note Hook",
}
ZERO_SHA = "0" * 40


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Header lookup that also works on a plain dict (aiohttp's CIMultiDict is case-blind)."""
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lower), None)
    return value


def verify(headers: Mapping[str, str], secret: str) -> bool:
    """Constant-time compare of `X-Gitlab-Token`; an empty secret or token never passes."""
    sent = _header(headers, "X-Gitlab-Token") or ""
    if not secret or not sent:
        return False
    return hmac.compare_digest(sent.encode(), secret.encode())


def idempotency_key(headers: Mapping[str, str]) -> str | None:
    """`Idempotency-Key` is stable across resends (17.4+); older GitLab: the event UUID."""
    return _header(headers, "Idempotency-Key") or _header(headers, "X-Gitlab-Event-UUID") or None


def parse(
    event_header: str, payload: dict[str, Any], *, received_at: datetime
) -> TagPush | WikiCreation | QuestionChanged | None:
    """The value a hook means for the bot, or None for kinds it ignores (answer 2xx anyway)."""
    at = received_at.astimezone(UTC)
    if event_header == "Tag Push Hook" and payload.get("object_kind") == "tag_push":
        return _tag_push(payload, at)
    if event_header == "Wiki Page Hook" and payload.get("object_kind") == "wiki_page":
        attrs = payload.get("object_attributes") or {}
        if attrs.get("action") != "create":
            return None
        return WikiCreation(
            slug=str(attrs.get("slug", "")),
            title=str(attrs.get("title", "")),
            author=str((payload.get("user") or {}).get("username", "")),
            created_at=at,
        )
    if event_header in QUESTION_EVENTS:
        return _question(payload)
    return None


def _tag_push(payload: dict[str, Any], at: datetime) -> TagPush | None:
    ref = str(payload.get("ref", ""))
    if not ref.startswith("refs/tags/"):
        return None
    project = payload.get("project") or {}
    return TagPush(
        repo_id=int(payload.get("project_id") or project.get("id") or 0),
        repo_path=str(project.get("path_with_namespace", "")),
        tag=ref.removeprefix("refs/tags/"),
        pushed_at=at,
        pusher=str(payload.get("user_username", "")),
        deleted=str(payload.get("after", "")) == ZERO_SHA,
    )


def _question(payload: dict[str, Any]) -> QuestionChanged | None:
    """Issue Hook: the issue is `object_attributes`; Note/Emoji hooks carry it as `issue`."""
    kind = payload.get("object_kind")
    if kind == "issue":
        issue = payload.get("object_attributes") or {}
    elif kind in ("note", "emoji"):
        issue = payload.get("issue") or {}
    else:
        return None
    if "iid" not in issue:
        return None  # a note/award on a merge request, snippet or commit
    project_id = issue.get("project_id") or (payload.get("project") or {}).get("id") or 0
    return QuestionChanged(project_id=int(project_id), iid=int(issue["iid"]))
