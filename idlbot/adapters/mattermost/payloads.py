"""Mattermost JSON → values, parsed once where it enters the bot.

Server quirks handled here, so no caller has to know them:
- a user's `timezone` object carries its switch as the strings "true"/"false", not as a
  JSON boolean;
- the websocket `posted` frame carries the post as a JSON *string* inside the frame's JSON
  (`data.post`), and the channel type next to it (`data.channel_type`), not in the post;
- optional post fields are often absent rather than empty (`root_id`, `type`, `props`).

A payload without what identifies it (a user's id and username, a post's id, channel and
author) raises MalformedPayload: the caller decides whether to skip or to fail.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from idlbot.domain.chat import MattermostUser, UserTimezone


class MalformedPayload(ValueError):
    """A Mattermost object without a field the bot relies on; the message names it."""


@dataclass(frozen=True)
class Post:
    """One post, from REST or the websocket. `type` is empty for a person's post and names
    the kind of a system message otherwise ("system_join_channel", ...): Mattermost adds
    kinds between releases, so it stays a string. `root_id` is empty outside a thread;
    `delete_at` is 0 unless the post was deleted."""

    id: str
    channel_id: str
    user_id: str
    message: str = ""
    create_at: int = 0
    root_id: str = ""
    type: str = ""
    delete_at: int = 0
    props: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Posted:
    """A websocket `posted` event. `channel_type` is Mattermost's one-letter code ("D" for a
    direct message, "O" open, "P" private, "G" group); only "D" matters to the bot."""

    post: Post
    channel_type: str


def parse_user(raw: object) -> MattermostUser:
    """A `model.User` as `/users/...` returns it."""
    raw = _object(raw, "user")
    return MattermostUser(
        id=_required(raw, "id", "user"),
        username=_required(raw, "username", "user"),
        timezone=parse_timezone(raw.get("timezone")),
    )


def parse_timezone(raw: object) -> UserTimezone | None:
    """`{"useAutomaticTimezone": "true", "automaticTimezone": ..., "manualTimezone": ...}`;
    None when there is none (an empty object counts as none)."""
    if not isinstance(raw, Mapping) or not raw:
        return None
    return UserTimezone(
        use_automatic=str(raw.get("useAutomaticTimezone", "")).lower() == "true",
        automatic=_text(raw.get("automaticTimezone")),
        manual=_text(raw.get("manualTimezone")),
    )


def parse_post(raw: object) -> Post:
    """A `model.Post` from REST or from a decoded `posted` frame."""
    raw = _object(raw, "post")
    props = raw.get("props")
    return Post(
        id=_required(raw, "id", "post"),
        channel_id=_required(raw, "channel_id", "post"),
        user_id=_required(raw, "user_id", "post"),
        message=_text(raw.get("message")),
        create_at=_int(raw.get("create_at")),
        root_id=_text(raw.get("root_id")),
        type=_text(raw.get("type")),
        delete_at=_int(raw.get("delete_at")),
        props=dict(props) if isinstance(props, Mapping) else {},
    )


@dataclass(frozen=True)
class ChannelRef:
    """A channel the bot is a member of, as the re-sync needs it: `type` is Mattermost's
    one-letter code, `last_post_at` the server's time of its newest post (0 if none), which
    lets the re-sync skip a channel with nothing after its cursor without fetching posts."""

    id: str
    type: str
    last_post_at: int


def parse_channel(raw: object) -> ChannelRef:
    channel = _object(raw, "channel")
    return ChannelRef(
        id=_required(channel, "id", "channel"),
        type=_text(channel.get("type")),
        last_post_at=_int(channel.get("last_post_at")),
    )


def parse_posted(frame: Mapping[str, Any]) -> Posted | None:
    """The post of a `posted` frame; None for any other event. Raises MalformedPayload for
    a `posted` frame whose post cannot be decoded."""
    if frame.get("event") != "posted":
        return None
    data = frame.get("data")
    if not isinstance(data, Mapping):
        raise MalformedPayload("posted event without data")
    try:
        raw = json.loads(data["post"])  # JSON inside JSON
    except (KeyError, TypeError, ValueError):
        raise MalformedPayload("posted event without a decodable post") from None
    return Posted(parse_post(raw), _text(data.get("channel_type")))


def _object(raw: object, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise MalformedPayload(f"{what} is not a JSON object")
    return raw


def _required(raw: Mapping[str, Any], key: str, what: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{what} without {key}")
    return value


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(value: object) -> int:
    """Millisecond timestamps are JSON numbers; anything else counts as 0 (never)."""
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
