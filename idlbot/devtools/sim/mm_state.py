"""In-memory state and JSON shapes of the Mattermost simulator.
(Over 300 lines: the Go structs' shapes side by side, to compare them with the server's.)

The shapes follow the Go structs field by field (order included) because the bot and
the drivers see exactly these bytes (as a real server sends them). Go's
`json.Marshal` writes compact JSON, sorts map keys and HTML-escapes `<`, `>` and `&`,
so `go_json` does the same.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from idlbot.devtools.sim.mm_mentions import Mentions

#: `model.NewId()` alphabet (base32 with a custom alphabet, lower case, 26 chars).
ID_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769"
SERVER_VERSION = "11.1.0"
BUILD_NUMBER = "18711493711"
CONFIG_HASH = "6f0e5bd0b1f7ce45fe9d4bd41e6a0f43"
#: What the server sends as `X-Version-ID` and as `hello.data.server_version`.
VERSION_ID = f"{SERVER_VERSION}.{BUILD_NUMBER}.{CONFIG_HASH}.false"

PENDING_POST_TTL_S = 30.0  # pendingPostIDsCacheTTL in app/post.go
COMMAND_WEBHOOK_LIFETIME_S = 30 * 60.0  # model.CommandWebhookLifetime
COMMAND_WEBHOOK_MAX_USES = 5  # TryUse(hook, 5)


def new_id() -> str:
    """A 26-char id like `model.NewId()`, so id validation in the bot sees real-looking ids."""
    return "".join(ID_ALPHABET[b & 31] for b in secrets.token_bytes(26))  # 32 letters: uniform


def is_valid_id(value: str) -> bool:
    """`model.IsValidId`: 26 alphanumeric chars (the server rejects anything else with 400)."""
    return len(value) == 26 and value.isalnum()


def go_json(obj: Any, *, sort_keys: bool = False) -> str:
    """Serialise like Go's `json.Marshal`: compact, UTF-8, HTML-escaped.

    `sort_keys` is for values that are Go maps (props, websocket `data`); structs keep
    their declaration order, which the dicts built here already have.
    """
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


class SimClock:
    """Wall-clock milliseconds plus an offset tests can advance (expiry logic without sleeps)."""

    def __init__(self) -> None:
        self.offset_s = 0.0
        self._last_ms = 0

    def now_s(self) -> float:
        return time.time() + self.offset_s

    def millis(self) -> int:
        """Strictly increasing ms so `since` queries are deterministic even for bursts."""
        ms = int(self.now_s() * 1000)
        self._last_ms = max(ms, self._last_ms + 1)
        return self._last_ms


@dataclass
class CommandHook:
    """A `response_url` target (model.CommandWebhook)."""

    id: str
    command_id: str
    user_id: str
    channel_id: str
    root_id: str
    create_at_s: float
    uses: int = 0


@dataclass
class SimState:
    """Everything the simulated server stores; it survives stop()/restart()."""

    clock: SimClock = field(default_factory=SimClock)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> user id
    teams: dict[str, dict[str, Any]] = field(default_factory=dict)
    team_members: dict[str, dict[str, bool]] = field(default_factory=dict)  # team -> user -> is admin
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    channel_members: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)
    posts_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)
    hooks: dict[str, CommandHook] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # file id -> FileInfo
    file_data: dict[str, bytes] = field(default_factory=dict)
    pending_post_ids: dict[str, tuple[str, float]] = field(default_factory=dict)  # -> (post id, expiry)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    groups: dict[str, set[str]] = field(default_factory=dict)  # group name -> member user ids
    mentions: dict[str, Mentions] = field(default_factory=dict)  # post id -> what it would notify

    # ---- lookups -------------------------------------------------------------------------
    def user_by_name(self, username: str) -> dict[str, Any] | None:
        return next((u for u in self.users.values() if u["username"] == username.lower()), None)

    def team_by_name(self, name: str) -> dict[str, Any] | None:
        return next((t for t in self.teams.values() if t["name"] == name), None)

    def channel_by_name(self, team_id: str, name: str) -> dict[str, Any] | None:
        return next(
            (c for c in self.channels.values() if c["team_id"] == team_id and c["name"] == name), None
        )

    def is_channel_member(self, channel_id: str, user_id: str) -> bool:
        return user_id in self.channel_members.get(channel_id, {})

    def is_team_member(self, team_id: str, user_id: str) -> bool:
        return user_id in self.team_members.get(team_id, {})

    def is_system_admin(self, user_id: str) -> bool:
        return "system_admin" in self.users[user_id]["roles"].split()

    def user_teams(self, user_id: str) -> list[dict[str, Any]]:
        return [self.teams[t] for t, members in self.team_members.items() if user_id in members]

    def can_read_channel(self, channel: dict[str, Any], user_id: str) -> bool:
        """read_channel: members always; public channels also for team members; admins all."""
        if self.is_system_admin(user_id) or self.is_channel_member(channel["id"], user_id):
            return True
        return channel["type"] == "O" and self.is_team_member(channel["team_id"], user_id)

    def can_manage_commands(self, team_id: str, user_id: str) -> bool:
        """manage_slash_commands is a team-admin/system-admin permission by default."""
        return self.is_system_admin(user_id) or self.team_members.get(team_id, {}).get(user_id, False)

    def mention_keywords(self) -> set[str]:
        """The `@name` keys the server's parser knows: every username and group name."""
        return {"@" + u["username"] for u in self.users.values()} | {"@" + g for g in self.groups}

    def channel_posts(self, channel_id: str) -> list[dict[str, Any]]:
        return [p for p in self.posts if p["channel_id"] == channel_id]


# ---- JSON builders ---------------------------------------------------------------------------
def make_user(
    uid: str, username: str, *, tz: str, is_bot: bool, roles: str, first: str, last: str, now: int
) -> dict[str, Any]:
    """A `model.User` as the API returns it (sanitised: no password, no auth data)."""
    user: dict[str, Any] = {
        "id": uid,
        "create_at": now,
        "update_at": now,
        "delete_at": 0,
        "username": username.lower(),
        "auth_data": "",
        "auth_service": "",
        "email": f"{username.lower()}@{'localhost' if is_bot else 'example.edu'}",
        "nickname": "",
        "first_name": first,
        "last_name": last,
        "position": "",
        "roles": roles,
        "locale": "en",
        "timezone": {"automaticTimezone": tz, "manualTimezone": "", "useAutomaticTimezone": "true"},
        "is_bot": is_bot,
        "last_picture_update": 0,
        "disable_welcome_email": False,
    }
    if is_bot:
        user["bot_description"] = ""
    return user


def make_team(tid: str, name: str, display_name: str, now: int) -> dict[str, Any]:
    """A `model.Team`."""
    return {
        "id": tid,
        "create_at": now,
        "update_at": now,
        "delete_at": 0,
        "display_name": display_name,
        "name": name,
        "description": "",
        "email": "",
        "type": "O",
        "company_name": "",
        "allowed_domains": "",
        "invite_id": new_id(),
        "allow_open_invite": False,
        "scheme_id": "",
        "group_constrained": False,
        # policy_id (a Go *string, null when unset) is left out: the spec types it as a
        # non-nullable string and the bot never reads it.
        "cloud_limits_archived": False,
    }


def make_channel(
    cid: str, team_id: str, name: str, ctype: str, display_name: str, creator: str, now: int
) -> dict[str, Any]:
    """A `model.Channel`."""
    return {
        "id": cid,
        "create_at": now,
        "update_at": now,
        "delete_at": 0,
        "team_id": team_id,
        "type": ctype,
        "display_name": display_name,
        "name": name,
        "header": "",
        "purpose": "",
        "last_post_at": 0,
        "total_msg_count": 0,
        "extra_update_at": 0,
        "creator_id": creator,
        "scheme_id": None,
        "props": None,
        "group_constrained": None,
        "shared": None,
        "total_msg_count_root": 0,
        "policy_id": None,
        "last_root_post_at": 0,
    }


def make_channel_member(channel_id: str, user_id: str, now: int) -> dict[str, Any]:
    """A `model.ChannelMember` with the default notify props."""
    return {
        "channel_id": channel_id,
        "user_id": user_id,
        "roles": "channel_user",
        "last_viewed_at": 0,
        "msg_count": 0,
        "mention_count": 0,
        "mention_count_root": 0,
        "urgent_mention_count": 0,
        "msg_count_root": 0,
        "notify_props": {
            "channel_auto_follow_threads": "off",
            "desktop": "default",
            "email": "default",
            "ignore_channel_mentions": "default",
            "mark_unread": "all",
            "push": "default",
        },
        "last_update_at": now,
        "scheme_guest": False,
        "scheme_user": True,
        "scheme_admin": False,
    }


def make_post(
    *,
    user_id: str,
    channel_id: str,
    message: str,
    now: int,
    root_id: str = "",
    post_type: str = "",
    props: dict[str, Any] | None = None,
    pending_post_id: str = "",
    file_ids: list[str] | None = None,
) -> dict[str, Any]:
    """A `model.Post` in the field order of samples/post_object.json."""
    return {
        "id": new_id(),
        "create_at": now,
        "update_at": now,
        "edit_at": 0,
        "delete_at": 0,
        "is_pinned": False,
        "user_id": user_id,
        "channel_id": channel_id,
        "root_id": root_id,
        "original_id": "",
        "message": message,
        "type": post_type,
        "props": dict(props or {}),
        "hashtags": " ".join(w for w in message.split() if w.startswith("#") and len(w) > 1),
        "file_ids": list(file_ids or []),
        "pending_post_id": pending_post_id,
        "reply_count": 0,
        "last_reply_at": 0,
        "participants": None,
        "metadata": {},
    }


def post_to_go_json(post: dict[str, Any]) -> str:
    """Serialise a post for websocket `data.post` (props is a Go map: sorted keys)."""
    ordered = dict(post)
    ordered["props"] = dict(sorted(post["props"].items()))
    return go_json(ordered)


def make_command(body: dict[str, Any], *, creator: str, now: int) -> dict[str, Any]:
    """A `model.Command` in the field order of samples/command_object.json."""
    return {
        "id": new_id(),
        "token": new_id(),
        "create_at": now,
        "update_at": now,
        "delete_at": 0,
        "creator_id": creator,
        "team_id": str(body.get("team_id", "")),
        "trigger": str(body.get("trigger", "")).lower(),
        "method": str(body.get("method", "")),
        "username": str(body.get("username", "")),
        "icon_url": str(body.get("icon_url", "")),
        "auto_complete": bool(body.get("auto_complete", False)),
        "auto_complete_desc": str(body.get("auto_complete_desc", "")),
        "auto_complete_hint": str(body.get("auto_complete_hint", "")),
        "display_name": str(body.get("display_name", "")),
        "description": str(body.get("description", "")),
        "url": str(body.get("url", "")),
        "plugin_id": "",
    }
