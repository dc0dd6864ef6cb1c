"""Post creation, editing and delivery, shared by REST, slash commands and `user_post`.

One code path for every post keeps the websocket side identical no matter who posted
(`app/post.go` CreatePost + `app/notification.go` SendNotifications).
"""

from __future__ import annotations

from typing import Any

from idlbot.devtools.sim import mm_files, mm_mentions
from idlbot.devtools.sim.mm_faults import SimAppError, forbidden, invalid_param
from idlbot.devtools.sim.mm_state import PENDING_POST_TTL_S, SimState, go_json, make_post, post_to_go_json
from idlbot.devtools.sim.mm_ws import WsHub, broadcast_shape

EDITABLE_FIELDS = ("message", "is_pinned", "props", "file_ids")


#: `since` returns the newest 1000 changed posts at most (the server's `GetPostsSince` limit)
SINCE_LIMIT = 1000


def post_not_found() -> SimAppError:
    return SimAppError(404, "app.post.get.app_error", "Unable to get the post.")


class Posts:
    """The post store operations; raises SimAppError exactly where the server answers an error."""

    def __init__(self, state: SimState, hub: WsHub) -> None:
        self.state = state
        self.hub = hub

    # ---- create --------------------------------------------------------------------------
    def _check_target(self, author_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The checks of POST /posts before the post itself, in the server's order; the
        channel."""
        channel_id = body.get("channel_id")
        if not isinstance(channel_id, str) or not channel_id:
            raise invalid_param("post.channel_id")
        channel = self.state.channels.get(channel_id)
        if channel is None:
            raise SimAppError(
                400, "api.context.invalid_param.app_error", "Invalid post.channel_id parameter."
            )
        if not self.state.is_channel_member(channel_id, author_id) and not self.state.is_system_admin(
            author_id
        ):
            raise forbidden()  # create_post needs membership (create_post_public is not a user perm)
        post_type = str(body.get("type", "") or "")
        if post_type.startswith("system_"):
            raise SimAppError(400, "api.context.invalid_param.app_error", "Invalid post.type parameter.")
        if channel["delete_at"]:  # CreatePostAsUser: an archived channel keeps its members
            raise SimAppError(
                400, "api.post.create_post.can_not_post_to_deleted.error", "Can not post to deleted channel."
            )
        return channel

    def create(
        self,
        author_id: str,
        body: dict[str, Any],
        *,
        set_online: bool = True,
        from_webhook: bool = False,
    ) -> dict[str, Any]:
        """POST /posts semantics: membership check, pending_post_id dedup, thread checks."""
        channel = self._check_target(author_id, body)
        channel_id: str = channel["id"]
        post_type = str(body.get("type", "") or "")
        pending = str(body.get("pending_post_id", "") or "")
        found = self._dedup(pending, author_id)
        if found is not None:
            return found  # the server answers a repeat with the first post, nothing is broadcast
        root_id = str(body.get("root_id", "") or "")
        root = self.state.posts_by_id.get(root_id) if root_id else None
        if root_id and (root is None or root["delete_at"] or root["channel_id"] != channel_id):
            raise SimAppError(400, "api.post.create_post.root_id.app_error", "Invalid RootId parameter.")
        if root is not None and root["root_id"]:
            raise SimAppError(400, "api.post.create_post.root_id.app_error", "Invalid RootId parameter.")
        props = body.get("props") if isinstance(body.get("props"), dict) else {}
        assert isinstance(props, dict)
        if self.state.users[author_id]["is_bot"]:
            props["from_bot"] = "true"
        if from_webhook:
            props["from_webhook"] = "true"
        now = self.state.clock.millis()
        file_ids = body.get("file_ids")
        attached = mm_files.attach(self.state, author_id, channel_id, file_ids)
        post = make_post(
            user_id=author_id,
            channel_id=channel_id,
            message=str(body.get("message", "") or ""),
            now=now,
            root_id=root_id,
            post_type=post_type,
            props=props,
            pending_post_id=pending,
            file_ids=file_ids if isinstance(file_ids, list) else [],
        )
        mm_files.link(post, attached)
        self.state.posts.append(post)
        self.state.posts_by_id[post["id"]] = post
        if pending:
            self.state.pending_post_ids[pending] = (post["id"], self.state.clock.now_s() + PENDING_POST_TTL_S)
        if root is not None:
            root["reply_count"] += 1
            root["last_reply_at"] = now
        channel["last_post_at"] = now
        channel["total_msg_count"] += 1
        self._broadcast_posted(post, channel, set_online)
        return post

    def _dedup(self, pending: str, author_id: str) -> dict[str, Any] | None:
        """`deduplicateCreatePost`: same pending_post_id within 30 s → the post created first."""
        if not pending:
            return None
        entry = self.state.pending_post_ids.get(pending)
        if entry is None or entry[1] < self.state.clock.now_s():
            return None
        post = self.state.posts_by_id.get(entry[0])
        if post is None or not self.state.can_read_channel(
            self.state.channels[post["channel_id"]], author_id
        ):
            return None  # "Ignoring pending_post_id for which the user is unauthorized"
        return post

    def _record_mentions(self, post: dict[str, Any]) -> mm_mentions.Mentions:
        """Parse the message as the server does and keep the result for tests (`state.mentions`)."""
        found = mm_mentions.parse_post(post["message"], self.state.mention_keywords())
        self.state.mentions[post["id"]] = found
        return found

    def _mentioned(self, post: dict[str, Any], channel: dict[str, Any]) -> set[str]:
        """Members the post notifies: channel-wide words, @username, @group, the other side of a DM."""
        members = set(self.state.channel_members.get(channel["id"], {}))
        found = self._record_mentions(post)
        out: set[str] = set(members) if found.channel_wide else set()
        for key in found.keywords:
            user = self.state.user_by_name(key[1:])
            if user is not None and user["id"] in members:
                out.add(user["id"])
            out |= self.state.groups.get(key[1:], set()) & members
        if channel["type"] == "D":
            out |= members
        out.discard(post["user_id"])  # self-mentions are never reported
        return out

    def _broadcast_posted(self, post: dict[str, Any], channel: dict[str, Any], set_online: bool) -> None:
        sender = self.state.users[post["user_id"]]["username"]
        display = f"@{sender}" if channel["type"] == "D" else channel["display_name"]
        data: dict[str, Any] = {
            "channel_display_name": display,
            "channel_name": channel["name"],
            "channel_type": channel["type"],
            "post": post_to_go_json(post),
            "sender_name": f"@{sender}",
            "set_online": set_online,
            "team_id": channel["team_id"],
        }
        mentioned = self._mentioned(post, channel)

        def add_mentions(user_id: str, payload: dict[str, Any]) -> dict[str, Any]:
            if user_id in mentioned:
                payload["mentions"] = go_json([user_id])
            return payload

        self.hub.to_channel(
            channel["id"], "posted", data, broadcast_shape(channel_id=channel["id"]), add_mentions
        )

    # ---- read / edit / delete ------------------------------------------------------------
    def get_for(self, post_id: str, user_id: str) -> dict[str, Any]:
        post = self.state.posts_by_id.get(post_id)
        if post is None or post["delete_at"]:
            raise post_not_found()
        if not self.state.can_read_channel(self.state.channels[post["channel_id"]], user_id):
            raise forbidden()
        return post

    def _editable(self, post_id: str, user_id: str) -> dict[str, Any]:
        post = self.get_for(post_id, user_id)
        if post["user_id"] != user_id and not self.state.is_system_admin(user_id):
            raise forbidden()  # edit_others_posts
        return post

    def patch(
        self, post_id: str, user_id: str, patch: dict[str, Any], *, full: bool = False
    ) -> dict[str, Any]:
        """PUT /posts/{id} (`full`, absent fields cleared) or PUT /posts/{id}/patch."""
        post = self._editable(post_id, user_id)
        if full and patch.get("id") not in (None, post_id):
            raise invalid_param("id")
        for key in EDITABLE_FIELDS:
            if key in patch:
                post[key] = patch[key] if patch[key] is not None else post[key]
            elif full and key == "message":
                post[key] = ""
        if post["user_id"] and self.state.users[post["user_id"]]["is_bot"]:
            post["props"]["from_bot"] = "true"
        now = self.state.clock.millis()
        post["update_at"] = now
        post["edit_at"] = now
        self._record_mentions(post)  # an edit notifies nobody, but tests check the edited text too
        self.hub.to_channel(
            post["channel_id"],
            "post_edited",
            {"post": post_to_go_json(post)},
            broadcast_shape(channel_id=post["channel_id"]),
        )
        return post

    def delete(self, post_id: str, user_id: str) -> None:
        post = self._editable(post_id, user_id)
        now = self.state.clock.millis()
        post["delete_at"] = now
        post["update_at"] = now
        self.hub.to_channel(
            post["channel_id"],
            "post_deleted",
            {"delete_by": user_id, "post": post_to_go_json(post)},
            broadcast_shape(channel_id=post["channel_id"]),
        )

    # ---- ephemeral -----------------------------------------------------------------------
    def send_ephemeral(
        self, target_id: str, author_id: str, body: dict[str, Any], source: str
    ) -> dict[str, Any]:
        """`SendEphemeralPost`: nothing stored, one `ephemeral_message` to the target user."""
        channel_id = str(body.get("channel_id", "") or "")
        props = body.get("props") if isinstance(body.get("props"), dict) else {}
        post = make_post(
            user_id=author_id,
            channel_id=channel_id,
            message=str(body.get("message", "") or ""),
            now=self.state.clock.millis(),
            root_id=str(body.get("root_id", "") or ""),
            post_type="system_ephemeral",
            props=props,
        )
        self.state.ephemerals.append(
            {
                "user_id": target_id,
                "channel_id": channel_id,
                "message": post["message"],
                "props": post["props"],
                "source": source,
                "post": post,
            }
        )
        self.hub.to_user(
            target_id,
            "ephemeral_message",
            {"post": post_to_go_json(post)},
            broadcast_shape(user_id=target_id, channel_id=channel_id),
        )
        return post

    # ---- listing -------------------------------------------------------------------------
    def list_channel(self, channel_id: str, query: dict[str, str]) -> dict[str, Any]:
        """GET /channels/{id}/posts: `since` (changed after, deleted included) or pages."""
        every = self.state.channel_posts(channel_id)
        newest_first = sorted(every, key=lambda p: p["create_at"], reverse=True)
        if "since" in query:
            since = int(query["since"] or 0)
            chosen = [p for p in newest_first if p["update_at"] > since][:SINCE_LIMIT]
            return self._post_list(chosen, "", "", False)
        live = [p for p in newest_first if not p["delete_at"]]
        page = int(query.get("page", "0") or 0)
        per_page = min(int(query.get("per_page", "60") or 60), 200)
        if query.get("before") or query.get("after"):
            ids = [p["id"] for p in live]
            anchor = query.get("before") or query.get("after") or ""
            if anchor not in ids:
                return self._post_list([], "", "", False)
            idx = ids.index(anchor)
            live = live[idx + 1 :] if query.get("before") else live[:idx]
        start = page * per_page
        chosen = live[start : start + per_page]
        newer = live[start - 1]["id"] if start > 0 and start - 1 < len(live) else ""
        older = live[start + per_page]["id"] if start + per_page < len(live) else ""
        return self._post_list(chosen, newer, older, bool(older))

    @staticmethod
    def _post_list(posts: list[dict[str, Any]], next_id: str, prev_id: str, has_next: bool) -> dict[str, Any]:
        return {
            "order": [p["id"] for p in posts],
            "posts": {p["id"]: p for p in posts},
            "next_post_id": next_id,
            "prev_post_id": prev_id,
            "has_next": has_next,
        }
