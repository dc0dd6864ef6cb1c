"""GitLab webhook requests → domain values.

GitLab authenticates a hook only with `X-Gitlab-Token`, the plain shared secret (no
HMAC), never retries, and may deliver twice (manual resend, group + project hooks):
verify in constant time, dedupe on `Idempotency-Key`, answer 2xx fast.
Tag Push and Wiki Page payloads carry no time, so the receive time stands in.
A system hook (`X-Gitlab-Event: System Hook`, same secret) is read for tag pushes only.
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
SYSTEM_HOOK = "System Hook"
"""`X-Gitlab-Event` of every system hook delivery (an admin's instance-wide hook)."""


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
    # surrogatepass: a header with raw non-UTF-8 bytes arrives with lone surrogates in it
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), secret.encode())


MAX_KEY = 255  # the delivery-key column


def idempotency_key(headers: Mapping[str, str]) -> str | None:
    """`Idempotency-Key` is stable across resends (17.4+); older GitLab: the event UUID.
    Raises MalformedHook for a key the delivery store cannot hold (GitLab sends UUIDs)."""
    key = _header(headers, "Idempotency-Key") or _header(headers, "X-Gitlab-Event-UUID") or None
    if key is not None and (len(key) > MAX_KEY or not key.isascii() or not key.isprintable()):
        raise MalformedHook(f"the delivery key is not printable ASCII of at most {MAX_KEY} characters")
    return key


class MalformedHook(ValueError):
    """A hook of a kind the bot reads whose fields have the wrong shape (`"iid": "x"`, a
    list where an object belongs, an id out of range). The message names the field and is
    safe to return: the route answers 400 with it."""


MAX_ID = 2**31 - 1  # GitLab's ids and iids are int4, and so is our `iid` column


def parse(
    event_header: str, payload: Mapping[str, Any], *, received_at: datetime
) -> TagPush | WikiCreation | QuestionChanged | None:
    """The value a hook means for the bot, or None for kinds it ignores (answer 2xx anyway).
    Raises MalformedHook when a field the bot reads has the wrong type or range."""
    at = received_at.astimezone(UTC)
    if event_header == "Tag Push Hook" and payload.get("object_kind") == "tag_push":
        return _tag_push(payload, at)
    if event_header == SYSTEM_HOOK:
        # Project#execute_hooks hands system hooks the same push data (object_kind and
        # event_name "tag_push"; the docs' example shows only event_name). Everything
        # else a system hook sends (repository_update, project_create, ...) is ignored.
        if payload.get("event_name") == "tag_push" or payload.get("object_kind") == "tag_push":
            return _tag_push(payload, at)
        return None
    if event_header == "Wiki Page Hook" and payload.get("object_kind") == "wiki_page":
        return _wiki_page(payload, at)
    if event_header in QUESTION_EVENTS:
        return _question(payload)
    return None


def _object(value: object, where: str) -> Mapping[str, Any]:
    """A nested JSON object; absent or null reads as empty (GitLab leaves some out)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedHook(f"`{where}` is not an object")
    return value


def _text(value: object, where: str, limit: int = 255) -> str:
    """A string field of at most `limit` characters that is valid Unicode (JSON may carry
    lone surrogates, which no database column takes); absent or null reads as empty."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise MalformedHook(f"`{where}` is not a string of at most {limit} characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise MalformedHook(f"`{where}` is not valid Unicode") from None
    return value


def _id(value: object, where: str) -> int:
    """A positive JSON integer within MAX_ID (no strings, floats or booleans)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise MalformedHook(f"`{where}` is not an id (an integer from 1 to {MAX_ID})")
    return value


def _project_id(payload: Mapping[str, Any], own: object, own_name: str) -> int:
    """The project id the hook names: `own` (the event's field), else `project.id`."""
    if own is not None:
        return _id(own, own_name)
    project = _object(payload.get("project"), "project")
    return _id(project.get("id"), "project.id")


def _tag_push(payload: Mapping[str, Any], at: datetime) -> TagPush | None:
    ref = _text(payload.get("ref"), "ref")
    if not ref.startswith("refs/tags/"):
        return None
    project = _object(payload.get("project"), "project")
    return TagPush(
        repo_id=_project_id(payload, payload.get("project_id"), "project_id"),
        repo_path=_text(project.get("path_with_namespace"), "project.path_with_namespace", 512),
        tag=ref.removeprefix("refs/tags/"),
        pushed_at=at,
        pusher=_text(payload.get("user_username"), "user_username"),
        deleted=_text(payload.get("after"), "after") == ZERO_SHA,
    )


def _wiki_page(payload: Mapping[str, Any], at: datetime) -> WikiCreation | None:
    attrs = _object(payload.get("object_attributes"), "object_attributes")
    if attrs.get("action") != "create":
        return None
    return WikiCreation(
        slug=_text(attrs.get("slug"), "object_attributes.slug", 1024),
        title=_text(attrs.get("title"), "object_attributes.title", 1024),
        author=_text(_object(payload.get("user"), "user").get("username"), "user.username"),
        created_at=at,
    )


def _question(payload: Mapping[str, Any]) -> QuestionChanged | None:
    """Issue Hook: the issue is `object_attributes`; Note/Emoji hooks carry it as `issue`."""
    kind = payload.get("object_kind")
    if kind == "issue":
        where = "object_attributes"
    elif kind in ("note", "emoji"):
        where = "issue"
    else:
        return None
    issue = _object(payload.get(where), where)
    if "iid" not in issue:
        return None  # a note/award on a merge request, snippet or commit
    project_id = _project_id(payload, issue.get("project_id"), f"{where}.project_id")
    return QuestionChanged(project_id=project_id, iid=_id(issue["iid"], f"{where}.iid"))
