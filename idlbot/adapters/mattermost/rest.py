"""Chat on mattermostautodriver's AsyncTypedDriver (REST only).
(Over 300 lines: every REST quirk of the driver is owned here, in one adapter, on purpose.)

Library quirks owned here, so nothing else has to know them:
- `posts.create_post()` only sends the spec'd fields and drops `pending_post_id`, which
  the server uses to drop repeats within 30 s; we post through `client.post()` instead.
- the driver has no timeout unless `request_timeout` is set; we always set it.
- the driver retries 429s itself (honouring Retry-After) but never retries a POST on
  5xx or a refused connection; `classify()` turns every failure into a DeliveryError
  with a retry decision, which the outbox turns into a durable retry.
- errors come as MattermostError subclasses (with status_code), InvalidMattermostError
  (non-JSON error body, e.g. a proxy's 502 page) or httpx transport errors.
- httpx's own transport cost about 1 ms of loop CPU per request; the driver's
  `transport` option carries ours, on aiohttp's client (`transport.py`), which raises
  httpx's errors, so nothing here tells the two apart.
- users and posts come as dicts; `payloads.py` parses them into MattermostUser and Post
  here, so nothing above this class digs in the server's JSON.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from mattermostautodriver import AsyncTypedDriver
from mattermostautodriver.exceptions import (
    InvalidMattermostError,
    MattermostError,
    NoAccessTokenProvided,
    NotEnoughPermissions,
    ResourceNotFound,
    TooManyRequests,
)

from idlbot.adapters.mattermost.payloads import (
    ChannelRef,
    MalformedPayload,
    Post,
    parse_channel,
    parse_post,
    parse_user,
)
from idlbot.adapters.mattermost.transport import AiohttpTransport
from idlbot.domain.attachment import Attachment
from idlbot.domain.chat import InvalidUserId, MattermostUser, UnknownUser, is_user_id, is_username
from idlbot.domain.usernames import normalize_username
from idlbot.ports.dm_channels import DmChannels

log = logging.getLogger(__name__)

KEY_PROP = "idlbot_key"


@dataclass(frozen=True)
class DeliveryError(Exception):
    """A failed call, with what to do about it."""

    reason: str
    retryable: bool
    retry_after: float | None = None
    status: int | None = None

    def __str__(self) -> str:
        return self.reason


def classify(err: BaseException) -> DeliveryError:
    """Map a driver/transport failure to a retry decision."""
    if isinstance(err, TooManyRequests):
        return DeliveryError("429 rate limited", True, retry_after=err.retry_after, status=429)
    if isinstance(err, MattermostError):
        status = int(err.status_code)
        retryable = status >= 500 or status in (401, 408)
        return DeliveryError(f"{status} {err.error_id}: {err}", retryable, status=status)
    if isinstance(err, InvalidMattermostError):
        status = int(err.status_code)
        return DeliveryError(f"{status} non-JSON error body", status >= 500 or status == 429, status=status)
    if isinstance(err, httpx.TimeoutException):
        return DeliveryError(f"timeout: {type(err).__name__}", True)
    if isinstance(err, httpx.TransportError):
        return DeliveryError(f"connection: {type(err).__name__}: {err}", True)
    return DeliveryError(f"{type(err).__name__}: {err}", False)


def pending_post_id(bot_user_id: str, key: str) -> str:
    """Deterministic per outbox key: a resend after a crash carries the same id, so the
    server's 30-second duplicate filter drops it if the first attempt got through."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return f"{bot_user_id}:{digest}"


def driver_options(url: str, token: str, timeout: float) -> dict[str, Any]:
    parts = urlsplit(url)
    scheme = parts.scheme or "https"
    port = parts.port or (443 if scheme == "https" else 80)
    return {
        "scheme": scheme,
        "url": parts.hostname or "localhost",
        "port": port,
        "token": token,
        "request_timeout": timeout,
        "timeout": timeout,
        "max_retries": 2,
        "retry_max_sleep": 10,
        "transport": AiohttpTransport(),
    }


class MattermostChat:
    """The bot's REST side: identity, lookups, posts, DMs."""

    USER_TTL = 300.0

    def __init__(
        self, url: str, token: str, *, team: str, timeout: float = 10.0, dm_channels: DmChannels | None = None
    ) -> None:
        """`dm_channels` keeps DM channel ids across restarts (the bot passes the database's);
        without it (the CLI's one-off commands) they are cached in memory only."""
        self.url = url.rstrip("/")
        self.team_name = team
        self._driver = AsyncTypedDriver(driver_options(self.url, token, timeout))
        self._token = token
        self.bot_user_id = ""
        self.bot_username = ""
        self.team_id = ""
        self._users: dict[str, tuple[float, MattermostUser]] = {}
        self._dm_channels: dict[str, str] = {}
        self._dm_store = dm_channels
        self._channel_ids: dict[str, str] = {}
        self._channel_teams: dict[str, str | None] = {}
        self._views: list[MattermostChat] = []  # the other courses' teams (`in_team`)
        self._owner: MattermostChat | None = None

    def in_team(self, team: str) -> MattermostChat:
        """The same bot account seen from another team of the deployment (another
        course's): it shares this one's connection, user cache and DM channels, and has its
        own team, so channel names resolve in that team. Its team id is looked up by this
        account's `login()`; closing it closes nothing (this account owns the connection)."""
        if team == self.team_name:
            return self
        for view in self._views:
            if view.team_name == team:
                return view
        view = copy.copy(self)  # shallow: the driver, `_users`, `_dm_channels` are shared
        view.team_name, view.team_id = team, ""
        view._channel_ids, view._views, view._owner = {}, [], self
        self._views.append(view)
        return view

    @property
    def token(self) -> str:
        return self._token

    async def close(self) -> None:
        if self._owner is None:
            await self._driver.client.close()

    async def login(self) -> MattermostUser:
        me = parse_user(await self._driver.login())
        self.bot_user_id = me.id
        self.bot_username = me.username
        team = await self._driver.teams.get_team_by_name(self.team_name)
        self.team_id = str(team["id"])
        for view in self._views:
            view.bot_user_id, view.bot_username = me.id, me.username
            view.team_id = str((await self._driver.teams.get_team_by_name(view.team_name))["id"])
        return me

    async def token_valid(self) -> bool:
        """False only when the server says the token is bad (401); an unreachable server
        is not an auth failure and must not trigger the slow auth-failure retry."""
        try:
            await self._driver.users.get_user("me")
        except NoAccessTokenProvided:
            return False
        except Exception:  # noqa: BLE001 - anything else: not known to be an auth problem
            return True
        return True

    async def channel_id(self, name: str) -> str:
        """Channel id for a channel name in the course team (cached: names don't move)."""
        if name not in self._channel_ids:
            channel = await self._driver.channels.get_channel_by_name(self.team_id, name)
            self._channel_ids[name] = str(channel["id"])
        return self._channel_ids[name]

    async def lookup_channel(self, name: str) -> str:
        """Like `channel_id`, but asks the server now (a channel archived since is 404 then)
        and refreshes the cache. Raises ResourceNotFound for a name the bot cannot see."""
        channel = await self._driver.channels.get_channel_by_name(self.team_id, name)
        self._channel_ids[name] = str(channel["id"])
        return self._channel_ids[name]

    async def channel_team(self, channel_id: str) -> str | None:
        """The team id of a channel (None for DMs and group messages); cached: it never moves."""
        if channel_id not in self._channel_teams:
            channel = await self._driver.channels.get_channel(channel_id)
            self._channel_teams[channel_id] = str(channel.get("team_id") or "") or None
        return self._channel_teams[channel_id]

    async def is_member(self, channel_id: str) -> bool:
        """Whether the bot is in the channel (its posts there would be refused otherwise).
        The server answers a non-member with 404, or 403 where it hides the channel."""
        try:
            await self._driver.channels.get_channel_member(channel_id, self.bot_user_id)
        except (ResourceNotFound, NotEnoughPermissions):
            return False
        return True

    async def user(self, user_id: str) -> MattermostUser:
        """The user with their time zone; cached for a few minutes, as every command needs it.

        The id goes into the URL path, so it must have the shape of a Mattermost id first:
        `../users/username/sstober` would otherwise be resolved by the HTTP client into
        another endpoint, and Mattermost would answer with the instructor's account.
        Raises InvalidUserId for such an id, UnknownUser when Mattermost has no such user."""
        if not is_user_id(user_id):
            raise InvalidUserId(f"not a Mattermost user id: {user_id[:40]!r}")
        cached = self._users.get(user_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.USER_TTL:
            return cached[1]
        try:
            raw = await self._driver.users.get_user(user_id)
        except ResourceNotFound:
            raise UnknownUser(user_id) from None
        user = parse_user(raw)
        self._users[user_id] = (now, user)
        return user

    async def user_by_username(self, username: str) -> MattermostUser:
        """Raises UnknownUser for a name Mattermost has not, or cannot have (checked before
        the name goes into the URL path, like the id in `user`)."""
        if not is_username(username):
            raise UnknownUser(f"not a Mattermost username: {username[:70]!r}")
        try:
            raw = await self._driver.users.get_user_by_username(username)
        except ResourceNotFound:
            raise UnknownUser(username) from None
        user = parse_user(raw)
        self._users[user.id] = (time.monotonic(), user)
        return user

    async def user_id(self, username: str) -> str | None:
        """The People port: a username's id, None if there is no such user."""
        try:
            user = await self.user_by_username(normalize_username(username))
        except UnknownUser:
            return None
        return user.id

    USERNAMES_PER_CALL = 100
    """Names per `POST /users/usernames`: a small body, and one request per hundred students."""

    async def user_ids(self, usernames: Iterable[str]) -> dict[str, str]:
        """The Directory port: {username: id} for the names Mattermost has, the others left out.

        One `POST /users/usernames` per hundred names, not a `GET` each: the first fan-out to
        a 500-student roster made 500 requests, which a server with rate limiting on answers
        with 429s. Names that cannot be usernames are not sent (nobody can have them)."""
        wanted = sorted({n for n in map(normalize_username, usernames) if is_username(n)})
        found: dict[str, str] = {}
        for start in range(0, len(wanted), self.USERNAMES_PER_CALL):
            batch = wanted[start : start + self.USERNAMES_PER_CALL]
            raw = await self._driver.users.get_users_by_usernames(batch)
            now = time.monotonic()
            for item in raw:
                user = parse_user(item)
                self._users[user.id] = (now, user)
                found[user.username] = user.id
        return found

    async def direct_channel(self, user_id: str) -> str:
        """The bot's DM channel with `user_id`: from memory, else the store, else Mattermost
        (which creates it once and returns the same channel ever after).

        The store is only a cache. The outbox worker treats an error it does not know as
        permanent, so a database hiccup here must not fail the DM: it is logged and the
        channel asked from Mattermost, whose answer is always right."""
        if user_id in self._dm_channels:
            return self._dm_channels[user_id]
        found: str | None = None
        if self._dm_store is not None:
            try:
                found = await self._dm_store.get(self.bot_user_id, user_id)
            except Exception as err:  # noqa: BLE001 - a cache miss, not a failed DM (see above)
                log.warning("stored DM channel of %s unreadable (%s); asking Mattermost", user_id, err)
        if found is None:
            channel = await self._driver.channels.create_direct_channel([self.bot_user_id, user_id])
            found = str(channel["id"])
            if self._dm_store is not None:
                try:
                    await self._dm_store.remember(self.bot_user_id, user_id, found)
                except Exception as err:  # noqa: BLE001 - the DM goes out; only the next restart asks again
                    log.warning("DM channel of %s not stored (%s)", user_id, err)
        self._dm_channels[user_id] = found
        return found

    async def create_post(
        self,
        channel_id: str,
        message: str,
        *,
        key: str,
        props: Mapping[str, Any] | None = None,
        root_id: str | None = None,
        file_ids: Sequence[str] = (),
    ) -> str:
        body: dict[str, Any] = {
            "channel_id": channel_id,
            "message": message,
            "props": {**(props or {}), KEY_PROP: key},
            "pending_post_id": pending_post_id(self.bot_user_id, key),
        }
        if root_id:
            body["root_id"] = root_id
        if file_ids:
            body["file_ids"] = list(file_ids)
        post: dict[str, Any] = await self._driver.client.post("/api/v4/posts", options=body)
        return str(post["id"])

    async def patch_post(self, post_id: str, message: str) -> None:
        """Edit one of our posts in place (the frozen agenda is re-posted by editing)."""
        await self._driver.client.put(f"/api/v4/posts/{post_id}/patch", options={"message": message})

    async def upload_file(self, channel_id: str, attachment: Attachment) -> str:
        """Upload one file to a channel; returns its id for the post's `file_ids`. A
        retried delivery uploads again: an unattached upload is harmless (the server
        cleans them up), a post without its file would not be."""
        files = (attachment.name, attachment.data, attachment.content_type)
        result: dict[str, Any] = await self._driver.files.upload_file(files=files, channel_id=channel_id)
        return str(result["file_infos"][0]["id"])

    async def posts_since(self, channel_id: str, since_ms: int) -> list[Post]:
        """Posts created or edited after `since_ms`, oldest first (for re-syncs). A post
        that does not parse is logged and left out: one bad post must not stop a re-sync."""
        result: dict[str, Any] = await self._driver.posts.get_posts_for_channel(channel_id, since=since_ms)
        posts = []
        for raw in (result.get("posts") or {}).values():
            try:
                posts.append(parse_post(raw))
            except MalformedPayload as err:
                log.warning("post in channel %s skipped: %s", channel_id, err)
        posts.sort(key=lambda p: (p.create_at, p.id))
        return posts

    async def find_post_with_key(self, channel_id: str, key: str, since_ms: int) -> str | None:
        """The id of our earlier post carrying this outbox key, if the server has it."""
        for post in await self.posts_since(channel_id, since_ms):
            if post.user_id == self.bot_user_id and post.props.get(KEY_PROP) == key:
                return post.id
        return None

    async def member_channels(self) -> list[ChannelRef]:
        """Every channel the bot is a member of in the course teams, DMs and group messages
        included (the server lists those with every team, so each is listed once). One that does not parse is
        logged and left out, like a post in `posts_since`."""
        channels: dict[str, ChannelRef] = {}
        for team_id in [self.team_id, *(view.team_id for view in self._views)]:
            raw = await self._driver.channels.get_channels_for_team_for_user(self.bot_user_id, team_id)
            for item in raw:
                try:
                    channel = parse_channel(item)
                except MalformedPayload as err:
                    log.warning("channel skipped in re-sync: %s", err)
                    continue
                channels.setdefault(channel.id, channel)  # DMs come with every team
        return list(channels.values())

    async def list_commands(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._driver.commands.list_commands(
            team_id=self.team_id, custom_only=True
        )
        return result

    async def create_command(self, command: dict[str, Any]) -> dict[str, Any]:
        # the typed create_command() only sends 4 fields; autocomplete needs the rest
        created: dict[str, Any] = await self._driver.client.post("/api/v4/commands", options=command)
        return created

    async def update_command(self, command_id: str, command: dict[str, Any]) -> dict[str, Any]:
        updated: dict[str, Any] = await self._driver.commands.update_command(command_id, command)
        return updated
