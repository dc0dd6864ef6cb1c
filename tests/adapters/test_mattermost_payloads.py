"""Mattermost JSON parsed once, in the adapter: users, their time zone, posts, `posted` frames."""

from __future__ import annotations

import json
import logging
from collections.abc import Coroutine
from typing import Any

import pytest

from idlbot.adapters.mattermost.inbound import Inbound
from idlbot.adapters.mattermost.payloads import (
    ChannelRef,
    MalformedPayload,
    Post,
    parse_channel,
    parse_post,
    parse_posted,
    parse_timezone,
    parse_user,
)
from idlbot.devtools.sim.mm_state import make_user
from idlbot.domain.chat import MattermostUser, UserTimezone
from idlbot.domain.timefmt import user_zone
from tests.unit.course_2018 import BERLIN

ALICE = "k1a9q3mz7fbx5pd8ht6wgyn4re"
BOT = "b0tb0tb0tb0tb0tb0tb0tb0tb0"
DM = "d8n3x7kq2wp5mv9rt4yb6hs1ce"
POST_ID = "p5w1n7ex3iq9fc4ojd8kbr2uzh"

# A post as Mattermost 9 sends it inside a `posted` frame (fields the bot ignores included).
POST = {
    "id": POST_ID, "create_at": 1540198800123, "update_at": 1540198800123,
    "edit_at": 0, "delete_at": 0, "is_pinned": False, "user_id": ALICE, "channel_id": DM,
    "root_id": "", "original_id": "", "message": "@idlbot deadlines", "type": "", "props": {},
    "hashtags": "", "pending_post_id": "", "reply_count": 0, "metadata": {},
}  # fmt: skip


def posted_frame(post: object, channel_type: str = "D") -> dict[str, Any]:
    """`data.post` is the post encoded as a JSON string inside the frame's JSON."""
    return {
        "event": "posted",
        "data": {
            "channel_display_name": "@alice", "channel_name": f"{ALICE}__{BOT}", "channel_type": channel_type,
            "post": json.dumps(post), "sender_name": "@alice", "set_online": True, "team_id": "",
        },
        "broadcast": {"omit_users": None, "user_id": "", "channel_id": DM, "team_id": ""},
        "seq": 7,
    }  # fmt: skip


def test_a_user_as_the_server_sends_it() -> None:
    raw = make_user(
        ALICE, "alice", tz="Asia/Tokyo", is_bot=False, roles="system_user", first="A", last="", now=0
    )
    assert parse_user(raw) == MattermostUser(ALICE, "alice", UserTimezone(True, "Asia/Tokyo", ""))
    assert parse_user({"id": ALICE, "username": "alice"}).timezone is None


@pytest.mark.parametrize("raw", [{"username": "alice"}, {"id": ALICE, "username": ""}, ["alice"]])
def test_a_user_without_id_or_username_is_malformed(raw: object) -> None:
    with pytest.raises(MalformedPayload):
        parse_user(raw)


@pytest.mark.parametrize(
    ("mm_timezone", "expected"),
    [
        (None, "Europe/Berlin"),
        ({}, "Europe/Berlin"),
        (
            {
                "useAutomaticTimezone": "true",
                "automaticTimezone": "Asia/Tokyo",
                "manualTimezone": "Europe/Paris",
            },
            "Asia/Tokyo",
        ),
        (
            {"useAutomaticTimezone": "true", "automaticTimezone": "", "manualTimezone": "Europe/Paris"},
            "Europe/Paris",
        ),
        (
            {
                "useAutomaticTimezone": "false",
                "automaticTimezone": "Asia/Tokyo",
                "manualTimezone": "Europe/Paris",
            },
            "Europe/Paris",
        ),
        (
            {"useAutomaticTimezone": "false", "automaticTimezone": "Asia/Tokyo", "manualTimezone": ""},
            "Europe/Berlin",
        ),
        ({"useAutomaticTimezone": "true", "automaticTimezone": "Mars/Olympus"}, "Europe/Berlin"),
        ({"useAutomaticTimezone": "false", "manualTimezone": "../../etc/passwd"}, "Europe/Berlin"),
        ({"useAutomaticTimezone": True, "automaticTimezone": "Asia/Tokyo"}, "Asia/Tokyo"),  # a real boolean
    ],
)
def test_the_timezone_object_with_its_string_booleans(mm_timezone: object, expected: str) -> None:
    assert user_zone(parse_timezone(mm_timezone), BERLIN).key == expected


def test_a_double_encoded_posted_frame_becomes_one_post() -> None:
    posted = parse_posted(posted_frame(POST))
    assert posted is not None and posted.channel_type == "D"
    assert posted.post == Post(
        id=POST_ID, channel_id=DM, user_id=ALICE, message="@idlbot deadlines", create_at=1540198800123
    )


def test_absent_optional_fields_read_as_empty() -> None:
    post = parse_post({"id": "p1", "channel_id": DM, "user_id": ALICE})
    assert (post.message, post.root_id, post.type, post.create_at, post.delete_at, post.props) == (
        "", "", "", 0, 0, {},
    )  # fmt: skip
    assert parse_post({**POST, "props": None, "root_id": None}).root_id == ""


def test_other_events_are_not_posts() -> None:
    assert parse_posted({"event": "typing", "data": {"parent_id": ""}}) is None
    assert parse_posted({"event": "hello", "data": {}, "seq": 0}) is None


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ({"event": "posted"}, "posted event without data"),
        ({"event": "posted", "data": {"channel_type": "D"}}, "without a decodable post"),
        ({"event": "posted", "data": {"post": "{half"}}, "without a decodable post"),
        ({"event": "posted", "data": {"post": {"id": "p1"}}}, "without a decodable post"),  # not encoded
        (posted_frame(["not", "an", "object"]), "post is not a JSON object"),
        (posted_frame({**POST, "id": ""}), "post without id"),
        (posted_frame({k: v for k, v in POST.items() if k != "user_id"}), "post without user_id"),
    ],
)
def test_a_malformed_posted_frame_says_why(frame: dict[str, Any], reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        parse_posted(frame)


class SpawnLog:
    """Records what Inbound spawns; the coroutine is closed unrun (only parsing is under test)."""

    def __init__(self) -> None:
        self.origins: list[str] = []

    def spawn(self, coro: Coroutine[Any, Any, Any], *, origin: str) -> None:
        coro.close()
        self.origins.append(origin)


def inbound(tasks: SpawnLog) -> Inbound:
    async def never(*_: object) -> Any:
        raise AssertionError("not used")

    return Inbound(
        bot_user_id=BOT, bot_username="idlbot", dispatcher=None, outbox=None, handled=None,  # type: ignore[arg-type]
        cursors=None, tasks=tasks, clock=None, list_channels=never, posts_since=never,  # type: ignore[arg-type]
        wake_outbox=lambda: None,
    )  # fmt: skip


def test_inbound_spawns_the_parsed_post_and_drops_a_malformed_frame(caplog: pytest.LogCaptureFixture) -> None:
    tasks = SpawnLog()
    handler = inbound(tasks)
    with caplog.at_level(logging.WARNING, logger="idlbot.adapters.mattermost.inbound"):
        handler.on_event({"event": "posted", "data": {"post": "{half", "channel_type": "D"}})
        handler.on_event({"event": "typing", "data": {}})
        handler.on_event(posted_frame(POST))
    assert tasks.origins == [f"post {POST_ID}"]
    assert [r.getMessage() for r in caplog.records] == ["posted event without a decodable post; ignored"]


def test_channel_for_the_resync() -> None:
    raw = {"id": "c" * 26, "type": "D", "team_id": "", "last_post_at": 1700000000123, "name": "a__b"}
    assert parse_channel(raw) == ChannelRef("c" * 26, "D", 1700000000123)
    assert parse_channel({"id": "c" * 26, "type": "O"}).last_post_at == 0  # a channel without posts
    with pytest.raises(MalformedPayload):
        parse_channel({"type": "O"})
