"""Custom slash commands: the simulator plays the Mattermost server calling the bot.

`app/command.go` (tryExecuteCustomCommand, DoCommandRequest, HandleCommandResponse) and
`web/webhook.go` (response_url) of the Mattermost server.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import urllib.parse
from typing import Any

import aiohttp

from idlbot.devtools.sim.mm_faults import SimAppError, SimCommandFailed, forbidden
from idlbot.devtools.sim.mm_posts import Posts
from idlbot.devtools.sim.mm_state import (
    COMMAND_WEBHOOK_LIFETIME_S,
    COMMAND_WEBHOOK_MAX_USES,
    CommandHook,
    SimState,
    new_id,
)

BUILTIN_TRIGGERS = {
    "away",
    "code",
    "collapse",
    "dnd",
    "echo",
    "expand",
    "groupmsg",
    "header",
    "help",
    "invite",
    "join",
    "kick",
    "leave",
    "logout",
    "me",
    "msg",
    "mute",
    "offline",
    "online",
    "open",
    "purpose",
    "remove",
    "rename",
    "search",
    "settings",
    "shortcuts",
    "shrug",
    "status",
}
SLACK_LINK_RE = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
CHANNEL_MENTION_RE = re.compile(r"(?<!\w)~([a-z0-9_-]+)", re.IGNORECASE)
USER_MENTION_RE = re.compile(r"(?<![\w@])@([a-z0-9._-]+)", re.IGNORECASE)
MAX_RESPONSE = 1024 * 1024  # MaxIntegrationResponseSize


def _failed(trigger: str, detail: str = "") -> SimCommandFailed:
    return SimCommandFailed(
        500,
        "api.command.execute_command.failed.app_error",
        f"Command with a trigger of '{trigger}' failed.",
        detail,
    )


def trigger_id(user_id: str, now_ms: int) -> str:
    """base64(clientTriggerId:userId:millis:base64(ECDSA signature)), as the server builds it."""
    sig = base64.b64encode(secrets.token_bytes(71)).decode()
    return base64.b64encode(f"{new_id()}:{user_id}:{now_ms}:{sig}".encode()).decode()


def response_from_body(content_type: str, body: bytes, trigger: str) -> dict[str, Any]:
    """`CommandResponseFromHTTPBody`: JSON only for application/json, else the body is `text`."""
    if content_type.split(";")[0].strip().lower() == "application/json":
        try:
            parsed = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise _failed(trigger, str(exc)) from None
        if not isinstance(parsed, dict):
            raise _failed(trigger, "json: cannot unmarshal into Go value of type model.CommandResponse")
        return parsed
    return {"text": body.decode("utf-8", errors="replace")}


def normalise_response(raw: dict[str, Any]) -> dict[str, Any]:
    """A `model.CommandResponse` in struct order (unset slices/maps are Go nil → null)."""
    extras = raw.get("extra_responses")
    return {
        "response_type": str(raw.get("response_type", "") or ""),
        "text": str(raw.get("text", "") or ""),
        "username": str(raw.get("username", "") or ""),
        "channel_id": str(raw.get("channel_id", "") or ""),
        "icon_url": str(raw.get("icon_url", "") or ""),
        "type": str(raw.get("type", "") or ""),
        "props": raw.get("props") if isinstance(raw.get("props"), dict) else None,
        "goto_location": str(raw.get("goto_location", "") or ""),
        "trigger_id": str(raw.get("trigger_id", "") or ""),
        "skip_slack_parsing": bool(raw.get("skip_slack_parsing", False)),
        "attachments": raw.get("attachments") if isinstance(raw.get("attachments"), list) else None,
        "extra_responses": (
            [normalise_response(e) for e in extras if isinstance(e, dict)]
            if isinstance(extras, list)
            else None
        ),
    }


class Commands:
    """Command execution and the response_url hooks."""

    def __init__(self, state: SimState, posts: Posts, *, timeout: float) -> None:
        self.state = state
        self.posts = posts
        self.timeout = timeout
        self.base_url = ""

    def find(self, team_id: str, trigger: str) -> dict[str, Any] | None:
        return next(
            (
                c
                for c in self.state.commands.values()
                if c["team_id"] == team_id and c["trigger"] == trigger and not c["delete_at"]
            ),
            None,
        )

    def _form(
        self,
        cmd: dict[str, Any],
        user_id: str,
        channel: dict[str, Any],
        team: dict[str, Any],
        text: str,
        root_id: str,
        hook_id: str,
    ) -> list[tuple[str, str]]:
        pairs = [
            ("channel_id", channel["id"]),
            ("channel_name", channel["name"]),
            ("command", "/" + cmd["trigger"]),
            ("response_url", f"{self.base_url}/hooks/commands/{hook_id}"),
            ("root_id", root_id),
            ("team_domain", team["name"]),
            ("team_id", team["id"]),
            ("text", text),
            ("token", cmd["token"]),
            ("trigger_id", trigger_id(user_id, self.state.clock.millis())),
            ("user_id", user_id),
            ("user_name", self.state.users[user_id]["username"]),
        ]
        members = self.state.team_members.get(team["id"], {})
        for name in dict.fromkeys(n.rstrip(".").lower() for n in USER_MENTION_RE.findall(text)):
            user = self.state.user_by_name(name)
            if user is not None and user["id"] in members:
                pairs += [("user_mentions", name), ("user_mentions_ids", user["id"])]
        for name in dict.fromkeys(n.lower() for n in CHANNEL_MENTION_RE.findall(text)):
            ch = self.state.channel_by_name(team["id"], name)
            if ch is not None and ch["type"] == "O":
                pairs += [("channel_mentions", name), ("channel_mentions_ids", ch["id"])]
        # url.Values.Encode: keys sorted, values of a repeated key keep their order (stable sort).
        return sorted(pairs, key=lambda kv: kv[0])

    async def execute(
        self, user_id: str, channel_id: str, command: str, *, root_id: str = "", team_id: str = ""
    ) -> dict[str, Any]:
        """POST /commands/execute: find the command, call the bot, handle its response."""
        channel = self.state.channels.get(channel_id)
        if channel is None:
            raise SimAppError(
                404, "app.channel.get.existing.app_error", "Unable to find the existing channel."
            )
        if not self.state.is_channel_member(channel_id, user_id):
            raise forbidden()
        parts = command.strip().split(None, 1)
        if not parts or not parts[0].startswith("/"):
            raise SimAppError(400, "api.command.execute_command.start.app_error", "No command trigger found.")
        trigger = parts[0][1:].lower()
        text = parts[1] if len(parts) > 1 else ""
        if channel["type"] not in ("D", "G"):
            team_id = channel["team_id"]
        elif not team_id:
            teams = self.state.user_teams(user_id)
            team_id = teams[0]["id"] if teams else ""
        cmd = self.find(team_id, trigger) if team_id else None
        shown = "/" + trigger
        if cmd is None:
            raise SimCommandFailed(
                404,
                "api.command.execute_command.not_found.app_error",
                f"Command with a trigger of '{shown}' not found. To send a message beginning with "
                '"/", try adding an empty space at the beginning of the message.',
            )
        hook = CommandHook(new_id(), cmd["id"], user_id, channel_id, root_id, self.state.clock.now_s())
        self.state.hooks[hook.id] = hook
        form = self._form(cmd, user_id, channel, self.state.teams[team_id], text, root_id, hook.id)
        status, reason, ctype, body = await self._call(cmd, form, shown)
        if status != 200:
            raise SimCommandFailed(
                500,
                "api.command.execute_command.failed_resp.app_error",
                f"Command with a trigger of '{shown}' returned response {status} {reason}.",
                body.decode("utf-8", errors="replace"),
            )
        response = normalise_response(response_from_body(ctype, body, shown))
        self.handle_response(response, user_id, channel_id, root_id)
        return response

    async def _call(
        self, cmd: dict[str, Any], form: list[tuple[str, str]], shown: str
    ) -> tuple[int, str, str, bytes]:
        headers = {
            "Accept": "application/json",
            "User-Agent": "Mattermost-Bot/1.1",
            "Accept-Encoding": "gzip",
        }
        if cmd["token"]:
            headers["Authorization"] = f"Token {cmd['token']}"
        encoded = urllib.parse.urlencode(form)
        url, data = cmd["url"], None
        if cmd["method"] == "G":
            url = f"{url}{'&' if '?' in url else '?'}{encoded}"
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            data = encoded.encode()
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout, skip_auto_headers=("User-Agent",)) as session,
                session.request(
                    "GET" if cmd["method"] == "G" else "POST", url, data=data, headers=headers
                ) as resp,
            ):
                body = await resp.content.read(MAX_RESPONSE)
                return resp.status, resp.reason or "", resp.headers.get("Content-Type", ""), body
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _failed(shown, repr(exc)) from None

    def handle_response(self, response: dict[str, Any], user_id: str, channel_id: str, root_id: str) -> None:
        """`HandleCommandResponse`: the main response, then each of `extra_responses`."""
        self._handle_one(response, user_id, channel_id, root_id)
        for extra in response.get("extra_responses") or []:
            self._handle_one(extra, user_id, channel_id, root_id)

    def _handle_one(self, response: dict[str, Any], user_id: str, channel_id: str, root_id: str) -> None:
        text = response["text"]
        if not response["skip_slack_parsing"]:
            text = SLACK_LINK_RE.sub(r"[\2](\1)", text)
        props = dict(response["props"] or {})
        if response["attachments"]:
            props["attachments"] = response["attachments"]
        if not text and not response["attachments"]:
            return  # silent ack
        target = response["channel_id"] or channel_id
        if target != channel_id and not self.state.is_channel_member(target, user_id):
            raise SimAppError(
                403,
                "api.command.command_post.forbidden.app_error",
                "Specified user is not a member of specified channel.",
            )
        body = {
            "channel_id": target,
            "message": text,
            "root_id": root_id,
            "type": response["type"],
            "props": props,
        }
        if response["response_type"] == "in_channel":
            self.posts.create(user_id, body, from_webhook=True)
        else:
            self.posts.send_ephemeral(user_id, user_id, body, source="command")

    def use_hook(self, hook_id: str, content_type: str, body: bytes) -> None:
        """POST /hooks/commands/{id}: ≤5 uses within 30 minutes, errors wrapped like web/webhook.go."""
        try:
            raw = response_from_body(content_type, body, "")
        except SimAppError:
            raise SimAppError(
                400, "web.command_webhook.parse.app_error", "Unable to parse incoming data."
            ) from None
        hook = self.state.hooks.get(hook_id)
        if hook is None or self.state.clock.now_s() - hook.create_at_s > COMMAND_WEBHOOK_LIFETIME_S:
            raise SimAppError(
                404,
                "web.command_webhook.general.app_error",
                "Unable to receive webhook.",
                "app.command_webhook.get.missing: Unable to find the webhook.",
            )
        if hook.uses >= COMMAND_WEBHOOK_MAX_USES:
            raise SimAppError(
                400,
                "web.command_webhook.general.app_error",
                "Unable to receive webhook.",
                "app.command_webhook.try_use.invalid: Invalid webhook.",
            )
        hook.uses += 1
        self.handle_response(normalise_response(raw), hook.user_id, hook.channel_id, hook.root_id)
