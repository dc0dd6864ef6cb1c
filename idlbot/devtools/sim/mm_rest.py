"""REST handlers of the simulator (`/api/v4`), one method per route.
(Over 300 lines: one short handler per route of the API the bot uses, kept side by side.)

Handlers take a `Ctx` and return `(status, json_value)` (a file download returns a
`web.Response` with the bytes); errors are raised as
`SimAppError`. The route templates are spelled exactly like the OpenAPI paths, so the
recorded exchanges can be matched against the spec without guessing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from idlbot.devtools.sim import mm_files
from idlbot.devtools.sim.mm_commands import BUILTIN_TRIGGERS, Commands
from idlbot.devtools.sim.mm_faults import SimAppError, forbidden, invalid_param, invalid_url_param
from idlbot.devtools.sim.mm_posts import Posts
from idlbot.devtools.sim.mm_state import (
    SimState,
    is_valid_id,
    make_channel,
    make_channel_member,
    make_command,
    new_id,
)

ID_PARAMS = {"user_id", "team_id", "channel_id", "post_id", "command_id"}


@dataclass
class Ctx:
    """One authenticated request as the handlers see it."""

    request: web.Request
    params: dict[str, str]
    query: dict[str, str]
    body: bytes
    user_id: str

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError):
            raise invalid_param("body") from None

    def json_object(self) -> dict[str, Any]:
        value = self.json()
        if not isinstance(value, dict):
            raise invalid_param("body")
        return value


Handler = Callable[[Ctx], Awaitable[tuple[int, Any]]]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    auth: bool
    regex: re.Pattern[str]


def not_found(what: str) -> SimAppError:
    table = {
        "user": ("app.user.missing_account.const", "Unable to find the user."),
        "team": ("app.team.get_by_name.missing.app_error", "Unable to find the existing team."),
        "channel": ("app.channel.get_by_name.missing.app_error", "Channel does not exist."),
        "channel_id": ("app.channel.get.existing.app_error", "Unable to find the existing channel."),
        "member": (
            "app.channel.get_member.missing.app_error",
            "No channel member found for that user ID and channel ID.",
        ),
        "command": ("app.command.getcommand.app_error", "Unable to get the command."),
    }
    error_id, message = table[what]
    return SimAppError(404, error_id, message)


class Rest:
    """All /api/v4 handlers over the shared state."""

    def __init__(self, state: SimState, posts: Posts, commands: Commands) -> None:
        self.state = state
        self.posts = posts
        self.commands = commands
        self.routes: list[Route] = []
        r = self._add
        r("GET", "/api/v4/system/ping", self.ping, auth=False)
        r("POST", "/api/v4/users/ids", self.users_by_ids)
        r("POST", "/api/v4/users/usernames", self.users_by_names)
        r("GET", "/api/v4/users/username/{username}", self.user_by_name)
        r("GET", "/api/v4/users/{user_id}/teams/{team_id}/channels", self.user_team_channels)
        r("GET", "/api/v4/users/{user_id}/teams", self.user_teams)
        r("GET", "/api/v4/users/{user_id}", self.get_user)
        r("GET", "/api/v4/teams/name/{team_name}/channels/name/{channel_name}", self.channel_by_team_name)
        r("GET", "/api/v4/teams/name/{name}", self.team_by_name)
        r("GET", "/api/v4/teams/{team_id}/channels/name/{channel_name}", self.channel_by_name)
        r("GET", "/api/v4/teams/{team_id}", self.get_team)
        r("POST", "/api/v4/channels/direct", self.direct_channel)
        r("GET", "/api/v4/channels/{channel_id}/posts", self.channel_posts)
        r("GET", "/api/v4/channels/{channel_id}/members/{user_id}", self.channel_member)
        r("GET", "/api/v4/channels/{channel_id}/members", self.channel_members)
        r("POST", "/api/v4/channels/{channel_id}/members", self.add_channel_member)
        r("GET", "/api/v4/channels/{channel_id}", self.get_channel)
        r("POST", "/api/v4/posts/ephemeral", self.create_ephemeral)
        r("POST", "/api/v4/posts", self.create_post)
        r("POST", "/api/v4/files", self.upload_files)
        r("GET", "/api/v4/files/{file_id}/info", self.file_info)
        r("GET", "/api/v4/files/{file_id}", self.get_file)
        r("PUT", "/api/v4/posts/{post_id}/patch", self.patch_post)
        r("GET", "/api/v4/posts/{post_id}", self.get_post)
        r("PUT", "/api/v4/posts/{post_id}", self.update_post)
        r("DELETE", "/api/v4/posts/{post_id}", self.delete_post)
        r("POST", "/api/v4/commands/execute", self.execute_command)
        r("POST", "/api/v4/commands", self.create_command)
        r("GET", "/api/v4/commands", self.list_commands)
        r("PUT", "/api/v4/commands/{command_id}/regen_token", self.regen_token)
        r("GET", "/api/v4/commands/{command_id}", self.get_command)
        r("PUT", "/api/v4/commands/{command_id}", self.update_command)
        r("DELETE", "/api/v4/commands/{command_id}", self.delete_command)

    def _add(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self.routes.append(Route(method, template, handler, auth, re.compile(f"^{pattern}/?$")))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            m = route.regex.match(path)
            if m and route.method == method:
                params = m.groupdict()
                for name, value in params.items():
                    if (
                        name in ID_PARAMS
                        and not is_valid_id(value)
                        and not (name == "user_id" and value == "me")
                    ):
                        raise invalid_url_param(name)
                return route, params
        return None

    # ---- helpers -------------------------------------------------------------------------
    def _user_param(self, ctx: Ctx) -> str:
        uid = ctx.params["user_id"]
        return ctx.user_id if uid == "me" else uid

    def _channel_for(
        self, ctx: Ctx, channel: dict[str, Any] | None, missing: str = "channel_id"
    ) -> dict[str, Any]:
        if channel is None or channel["delete_at"]:
            raise not_found(missing)
        if not self.state.can_read_channel(channel, ctx.user_id):
            raise forbidden()
        return channel

    def _team_for(self, ctx: Ctx, team: dict[str, Any] | None) -> dict[str, Any]:
        if team is None:
            raise not_found("team")
        if not self.state.is_team_member(team["id"], ctx.user_id) and not self.state.is_system_admin(
            ctx.user_id
        ):
            raise forbidden()
        return team

    def _command_for(self, ctx: Ctx) -> dict[str, Any]:
        cmd = self.state.commands.get(ctx.params["command_id"])
        if cmd is None or cmd["delete_at"]:
            raise not_found("command")
        if not self.state.can_manage_commands(cmd["team_id"], ctx.user_id):
            raise forbidden()
        return cmd

    # ---- system / users / teams ---------------------------------------------------------
    async def ping(self, ctx: Ctx) -> tuple[int, Any]:
        return 200, {"ActiveSearchBackend": "database", "status": "OK"}

    async def get_user(self, ctx: Ctx) -> tuple[int, Any]:
        user = self.state.users.get(self._user_param(ctx))
        if user is None:
            raise not_found("user")
        return 200, user

    async def user_by_name(self, ctx: Ctx) -> tuple[int, Any]:
        user = self.state.user_by_name(ctx.params["username"])
        if user is None:
            raise not_found("user")
        return 200, user

    async def users_by_ids(self, ctx: Ctx) -> tuple[int, Any]:
        ids = ctx.json()
        if not isinstance(ids, list) or not ids:
            raise invalid_param("user_ids")
        return 200, [self.state.users[i] for i in ids if i in self.state.users]

    async def users_by_names(self, ctx: Ctx) -> tuple[int, Any]:
        names = ctx.json()
        if not isinstance(names, list) or not names:
            raise invalid_param("usernames")
        found = (self.state.user_by_name(n) for n in names if isinstance(n, str))
        return 200, [u for u in found if u is not None]

    async def user_teams(self, ctx: Ctx) -> tuple[int, Any]:
        uid = self._user_param(ctx)
        if uid != ctx.user_id and not self.state.is_system_admin(ctx.user_id):
            raise forbidden()
        return 200, self.state.user_teams(uid)

    async def team_by_name(self, ctx: Ctx) -> tuple[int, Any]:
        return 200, self._team_for(ctx, self.state.team_by_name(ctx.params["name"]))

    async def get_team(self, ctx: Ctx) -> tuple[int, Any]:
        team = self.state.teams.get(ctx.params["team_id"])
        if team is None:
            raise SimAppError(404, "app.team.get.find.app_error", "Unable to find the existing team.")
        return 200, self._team_for(ctx, team)

    # ---- channels ------------------------------------------------------------------------
    async def user_team_channels(self, ctx: Ctx) -> tuple[int, Any]:
        uid, team_id = self._user_param(ctx), ctx.params["team_id"]
        if uid != ctx.user_id and not self.state.is_system_admin(ctx.user_id):
            raise forbidden()
        self._team_for(ctx, self.state.teams.get(team_id))
        chans = [
            c
            for c in self.state.channels.values()
            if self.state.is_channel_member(c["id"], uid)
            and c["team_id"] in (team_id, "")
            and not c["delete_at"]
        ]
        return 200, chans

    def _channel_named(self, ctx: Ctx, channel: dict[str, Any] | None) -> dict[str, Any]:
        """getChannelByName (api4/channel.go): an archived channel only with
        `include_deleted=true`; a public one the caller may not read is 403, but a private
        one is 404 with the "does not exist" body, so its existence is not leaked."""
        include_deleted = ctx.query.get("include_deleted", "") in ("1", "t", "T", "true", "TRUE", "True")
        if channel is None or (channel["delete_at"] and not include_deleted):
            raise not_found("channel")
        if not self.state.can_read_channel(channel, ctx.user_id):
            if channel["type"] == "O":
                raise forbidden()
            raise not_found("channel")
        return channel

    async def channel_by_name(self, ctx: Ctx) -> tuple[int, Any]:
        chan = self.state.channel_by_name(ctx.params["team_id"], ctx.params["channel_name"])
        return 200, self._channel_named(ctx, chan)

    async def channel_by_team_name(self, ctx: Ctx) -> tuple[int, Any]:
        team = self._team_for(ctx, self.state.team_by_name(ctx.params["team_name"]))
        chan = self.state.channel_by_name(team["id"], ctx.params["channel_name"])
        return 200, self._channel_named(ctx, chan)

    async def get_channel(self, ctx: Ctx) -> tuple[int, Any]:
        return 200, self._channel_for(ctx, self.state.channels.get(ctx.params["channel_id"]))

    def direct(self, a: str, b: str) -> dict[str, Any]:
        """Get-or-create the DM channel `<smaller id>__<larger id>`."""
        name = "__".join(sorted((a, b)))
        existing = self.state.channel_by_name("", name)
        if existing is not None:
            return existing
        now = self.state.clock.millis()
        chan = make_channel(new_id(), "", name, "D", "", a, now)
        self.state.channels[chan["id"]] = chan
        for uid in {a, b}:
            self.add_member(chan["id"], uid)
        return chan

    def add_member(self, channel_id: str, user_id: str) -> dict[str, Any]:
        members = self.state.channel_members.setdefault(channel_id, {})
        if user_id not in members:
            members[user_id] = make_channel_member(channel_id, user_id, self.state.clock.millis())
        return members[user_id]

    async def direct_channel(self, ctx: Ctx) -> tuple[int, Any]:
        ids = ctx.json()
        if (
            not isinstance(ids, list)
            or len(ids) != 2
            or not all(isinstance(i, str) and is_valid_id(i) for i in ids)
        ):
            raise invalid_param("user_ids")
        if ctx.user_id not in ids and not self.state.is_system_admin(ctx.user_id):
            raise forbidden()
        if any(i not in self.state.users for i in ids):
            raise SimAppError(
                400,
                "api.channel.create_direct_channel.invalid_user.app_error",
                "Invalid user ID for direct channel creation.",
            )
        return 201, self.direct(ids[0], ids[1])

    async def channel_members(self, ctx: Ctx) -> tuple[int, Any]:
        chan = self._channel_for(ctx, self.state.channels.get(ctx.params["channel_id"]))
        members = list(self.state.channel_members.get(chan["id"], {}).values())
        page, per_page = int(ctx.query.get("page", "0") or 0), int(ctx.query.get("per_page", "60") or 60)
        return 200, members[page * per_page : (page + 1) * per_page]

    async def channel_member(self, ctx: Ctx) -> tuple[int, Any]:
        chan = self._channel_for(ctx, self.state.channels.get(ctx.params["channel_id"]))
        member = self.state.channel_members.get(chan["id"], {}).get(self._user_param(ctx))
        if member is None:
            raise not_found("member")
        return 200, member

    async def add_channel_member(self, ctx: Ctx) -> tuple[int, Any]:
        chan = self._channel_for(ctx, self.state.channels.get(ctx.params["channel_id"]))
        body = ctx.json_object()
        uid = body.get("user_id")
        if not isinstance(uid, str) or uid not in self.state.users:
            raise invalid_param("user_id")
        if chan["type"] in ("D", "G"):
            raise SimAppError(
                400,
                "api.channel.add_user_to_channel.type.app_error",
                "Can not add user to this channel type.",
            )
        if (
            chan["type"] == "P"
            and not self.state.is_channel_member(chan["id"], ctx.user_id)
            and not self.state.is_system_admin(ctx.user_id)
        ):
            raise forbidden()
        if not self.state.is_team_member(chan["team_id"], uid):
            raise SimAppError(403, "api.channel.add_members.user_denied", "User is not a member of the team.")
        return 201, self.add_member(chan["id"], uid)

    # ---- posts ---------------------------------------------------------------------------
    async def create_post(self, ctx: Ctx) -> tuple[int, Any]:
        set_online = ctx.query.get("set_online", "true") != "false"
        return 201, self.posts.create(ctx.user_id, ctx.json_object(), set_online=set_online)

    async def upload_files(self, ctx: Ctx) -> tuple[int, Any]:
        content_type = ctx.request.headers.get("Content-Type", "")
        return 201, mm_files.upload(self.state, ctx.user_id, content_type, ctx.body, ctx.query)

    async def file_info(self, ctx: Ctx) -> tuple[int, Any]:
        """As `api4/file.go getFileInfo`: 404 for an unknown id; the uploader or a member of
        the channel gets the info, anyone else 403 (the OpenAPI: "read_channel permission or
        be uploader of the file"), like the download."""
        return 200, mm_files.info_for(self.state, ctx.user_id, ctx.params["file_id"])

    async def get_file(self, ctx: Ctx) -> tuple[int, Any]:
        """The bytes, not JSON: the dispatcher passes a `web.Response` through."""
        return 200, mm_files.download(self.state, ctx.user_id, ctx.params["file_id"], ctx.query)

    async def create_ephemeral(self, ctx: Ctx) -> tuple[int, Any]:
        if not self.state.is_system_admin(ctx.user_id):
            raise forbidden()  # create_post_ephemeral: system_admin only
        body = ctx.json_object()
        target, post = body.get("user_id"), body.get("post")
        if not isinstance(target, str) or target not in self.state.users:
            raise invalid_param("user_id")
        if not isinstance(post, dict) or not post.get("channel_id"):
            raise invalid_param("post")
        return 201, self.posts.send_ephemeral(target, ctx.user_id, post, source="api")

    async def get_post(self, ctx: Ctx) -> tuple[int, Any]:
        return 200, self.posts.get_for(ctx.params["post_id"], ctx.user_id)

    async def update_post(self, ctx: Ctx) -> tuple[int, Any]:
        return 200, self.posts.patch(ctx.params["post_id"], ctx.user_id, ctx.json_object(), full=True)

    async def patch_post(self, ctx: Ctx) -> tuple[int, Any]:
        return 200, self.posts.patch(ctx.params["post_id"], ctx.user_id, ctx.json_object())

    async def delete_post(self, ctx: Ctx) -> tuple[int, Any]:
        self.posts.delete(ctx.params["post_id"], ctx.user_id)
        return 200, {"status": "OK"}

    async def channel_posts(self, ctx: Ctx) -> tuple[int, Any]:
        chan = self._channel_for(ctx, self.state.channels.get(ctx.params["channel_id"]))
        return 200, self.posts.list_channel(chan["id"], ctx.query)

    # ---- commands ------------------------------------------------------------------------
    def _validate_command(self, cmd: dict[str, Any]) -> None:
        trigger = cmd["trigger"]
        if not trigger or len(trigger) > 128 or trigger.startswith("/") or " " in trigger:
            raise SimAppError(400, "model.command.is_valid.trigger.app_error", "Invalid trigger.")
        if cmd["method"] not in ("P", "G"):
            raise SimAppError(400, "model.command.is_valid.method.app_error", "Invalid Method.")
        if not re.match(r"^https?://", cmd["url"]) or len(cmd["url"]) > 1024:
            raise SimAppError(400, "model.command.is_valid.url.app_error", "Invalid URL.")
        if cmd["team_id"] not in self.state.teams:
            raise SimAppError(400, "model.command.is_valid.team_id.app_error", "Invalid team ID.")

    async def create_command(self, ctx: Ctx) -> tuple[int, Any]:
        cmd = make_command(ctx.json_object(), creator=ctx.user_id, now=self.state.clock.millis())
        self._validate_command(cmd)
        if not self.state.can_manage_commands(cmd["team_id"], ctx.user_id):
            raise forbidden()
        if cmd["trigger"] in BUILTIN_TRIGGERS or self.commands.find(cmd["team_id"], cmd["trigger"]):
            raise SimAppError(
                400,
                "api.command.duplicate_trigger.app_error",
                "This trigger word is already in use. Please choose another word.",
            )
        self.state.commands[cmd["id"]] = cmd
        return 201, cmd

    async def list_commands(self, ctx: Ctx) -> tuple[int, Any]:
        team_id = ctx.query.get("team_id", "")
        if not is_valid_id(team_id):
            raise invalid_url_param("team_id")
        custom_only = ctx.query.get("custom_only", "false") == "true"
        team_cmds = [
            c for c in self.state.commands.values() if c["team_id"] == team_id and not c["delete_at"]
        ]
        if custom_only:
            if not self.state.can_manage_commands(team_id, ctx.user_id):
                raise forbidden()
            return 200, team_cmds
        self._team_for(ctx, self.state.teams.get(team_id))
        if self.state.can_manage_commands(team_id, ctx.user_id):
            return 200, team_cmds
        # Without manage permission only autocomplete entries are visible, sanitised.
        return 200, [dict(c, token="", url="", creator_id="") for c in team_cmds if c["auto_complete"]]

    async def get_command(self, ctx: Ctx) -> tuple[int, Any]:
        return 200, self._command_for(ctx)

    async def update_command(self, ctx: Ctx) -> tuple[int, Any]:
        cmd = self._command_for(ctx)
        body = ctx.json_object()
        if body.get("id", cmd["id"]) != cmd["id"] or body.get("team_id", cmd["team_id"]) != cmd["team_id"]:
            raise invalid_param("command")
        updated = make_command({**cmd, **body}, creator=cmd["creator_id"], now=self.state.clock.millis())
        updated.update(id=cmd["id"], token=cmd["token"], create_at=cmd["create_at"])
        self._validate_command(updated)
        other = self.commands.find(cmd["team_id"], updated["trigger"])
        if other is not None and other["id"] != cmd["id"]:
            raise SimAppError(
                400,
                "api.command.duplicate_trigger.app_error",
                "This trigger word is already in use. Please choose another word.",
            )
        self.state.commands[cmd["id"]] = updated
        return 200, updated

    async def delete_command(self, ctx: Ctx) -> tuple[int, Any]:
        cmd = self._command_for(ctx)
        cmd["delete_at"] = self.state.clock.millis()
        return 200, {"status": "OK"}

    async def regen_token(self, ctx: Ctx) -> tuple[int, Any]:
        cmd = self._command_for(ctx)
        cmd["token"] = new_id()
        cmd["update_at"] = self.state.clock.millis()
        return 200, {"token": cmd["token"]}

    async def execute_command(self, ctx: Ctx) -> tuple[int, Any]:
        body = ctx.json_object()
        channel_id, command = body.get("channel_id"), body.get("command")
        if not isinstance(channel_id, str) or not is_valid_id(channel_id):
            raise invalid_param("channel_id")
        if not isinstance(command, str) or not command:
            raise invalid_param("command")
        root_id = str(body.get("root_id", "") or body.get("parent_id", "") or "")
        team_id = str(body.get("team_id", "") or "")
        return 200, await self.commands.execute(
            ctx.user_id, channel_id, command, root_id=root_id, team_id=team_id
        )
