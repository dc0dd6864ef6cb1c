"""Malformed input through the whole running bot gets a 4xx, never a 500.

The failures these reproduce, each seen on the running bot: a raw non-UTF-8 byte in the
slash body answered 500 before the token was checked, with a traceback per request; a
10 000-character user_id answered 500; a GitLab hook with the right secret and `"iid": "x"`
or a non-integer project_id answered 500; and `remind add in 99999999d`, `announce --at
"in 99999999d"` ended in "Something broke" while `remind add 9999-12-31 23:59` was taken.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from tests.app.conftest import WEBHOOK_SECRET, Harness, make_harness, slash_form

UNKNOWN_ID = "y" * 26  # the shape of a Mattermost id, but no account has it
NOT_AN_ID = "user_id is not a Mattermost id (26 lowercase letters and digits)"


@pytest.fixture
async def gh(db_url: str) -> AsyncIterator[Harness]:
    """The bot with GitLab (so /gitlab/webhook has a secret and a sync behind it)."""
    h = await make_harness(db_url, gitlab=True)
    await h.start_bot()
    try:
        yield h
    finally:
        await h.close()


async def post(h: Harness, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{h.bot.port}{path}", data=body, headers=headers) as resp,
    ):
        text = await resp.text()
        return resp.status, json.loads(text) if resp.content_type == "application/json" else text


async def slash(h: Harness, body: bytes, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token is not None:
        headers["Authorization"] = f"Token {token}"
    return await post(h, "/mattermost/command", body, headers)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info]


def rejections(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == event and r.levelno == logging.WARNING]


async def test_a_non_utf8_slash_body_is_checked_for_the_token_first(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    good = harness.settings.secrets.slash_token or ""
    caplog.set_level(logging.INFO)
    wrong = urlencode(slash_form(harness, token="wrong")).encode() + b"&text=\xff\xfe"
    assert (await slash(harness, wrong))[0] == 401
    assert (await slash(harness, b"\xff" * 10))[0] == 401
    right = urlencode(slash_form(harness, text="")).encode() + b"\xff&x=\xc3"
    status, body = await slash(harness, right, token=good)
    assert (status, body) == (400, {"error": "the form is not UTF-8"})
    status, body = await slash(harness, urlencode(slash_form(harness)).encode() + b"&text=%ff", token=good)
    assert status == 400
    assert tracebacks(caplog) == []
    assert len(rejections(caplog, "slash")) == 4  # one line per request, none with a traceback
    status, body = await slash(harness, urlencode(slash_form(harness)).encode(), token=good)
    assert status == 200 and body["text"].startswith("You are @alice")


async def test_a_10000_character_user_id_gets_400_and_an_unknown_one_a_refusal(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    good = harness.settings.secrets.slash_token or ""
    for user_id in ("a" * 10_000, "A" * 26, "../users/username/sstober"):
        status, body = await slash(harness, urlencode(slash_form(harness, user_id=user_id)).encode(), good)
        assert (status, body) == (400, {"error": NOT_AN_ID})
    for name in ("sstober", ""):
        form = slash_form(harness, user_id=UNKNOWN_ID, user_name=name)
        status, body = await slash(harness, urlencode(form).encode(), good)
        assert status == 200
        assert body["text"] == "Mattermost does not know your account (unknown user), so I ran nothing."
    # without a user_name, both answered 500 before the dispatcher checked the id (7b1656e)
    form = slash_form(harness, user_id="a" * 10_000, user_name="")
    assert await slash(harness, urlencode(form).encode(), good) == (400, {"error": NOT_AN_ID})
    assert tracebacks(caplog) == []


MALFORMED_HOOKS: list[tuple[str, dict[str, Any]]] = [
    ("Issue Hook", {"object_kind": "issue", "object_attributes": {"iid": "x", "project_id": 1}}),
    ("Issue Hook", {"object_kind": "issue", "object_attributes": {"iid": 1, "project_id": "abc"}}),
    ("Issue Hook", {"object_kind": "issue", "object_attributes": {"iid": 1, "project_id": 1.5}}),
    ("Issue Hook", {"object_kind": "issue", "object_attributes": {"iid": 10**30, "project_id": 1}}),
    ("Issue Hook", {"object_kind": "issue", "object_attributes": {"iid": True, "project_id": 1}}),
    ("Issue Hook", {"object_kind": "issue", "object_attributes": {"iid": -3, "project_id": 1}}),
    ("Issue Hook", {"object_kind": "issue", "object_attributes": "iid"}),
    ("Note Hook", {"object_kind": "note", "issue": {"iid": {"a": 1}}, "project": {"id": 1}}),
    ("Note Hook", {"object_kind": "note", "issue": {"iid": 1}, "project": ["id"]}),
    ("Emoji Hook", {"object_kind": "emoji", "issue": {"iid": None}, "project": {"id": 1}}),
    ("Tag Push Hook", {"object_kind": "tag_push", "ref": "refs/tags/a01", "project_id": "x"}),
    ("Tag Push Hook", {"object_kind": "tag_push", "ref": "refs/tags/a01", "project": "p"}),
    ("Tag Push Hook", {"object_kind": "tag_push", "ref": ["refs/tags/a01"], "project_id": 1}),
    ("Wiki Page Hook", {"object_kind": "wiki_page", "object_attributes": ["create"]}),
    ("Wiki Page Hook", {"object_kind": "wiki_page", "object_attributes": {"action": "create"}, "user": "b"}),
]
MALFORMED_BODIES = [b"not json", b"[1, 2]", b'{"a": \xff}', b"[" * 100_000, b"1" * 5_000, b"1e400"]


@pytest.mark.parametrize(("kind", "payload"), MALFORMED_HOOKS, ids=[f"hook{i}" for i in range(15)])
async def test_a_malformed_gitlab_hook_with_the_right_secret_gets_400(
    gh: Harness, caplog: pytest.LogCaptureFixture, kind: str, payload: dict[str, Any]
) -> None:
    caplog.set_level(logging.INFO)
    headers = {"X-Gitlab-Token": WEBHOOK_SECRET, "X-Gitlab-Event": kind, "Content-Type": "application/json"}
    status, body = await post(gh, "/gitlab/webhook", json.dumps(payload).encode(), headers)
    assert status == 400, body
    assert body["error"].startswith("`")  # names the field
    assert tracebacks(caplog) == [] and len(rejections(caplog, "gitlab_hook")) == 1


async def test_gitlab_bodies_that_are_no_object_get_400_and_a_wrong_secret_401(
    gh: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"X-Gitlab-Token": WEBHOOK_SECRET, "X-Gitlab-Event": "Issue Hook"}
    for body in MALFORMED_BODIES:
        assert (await post(gh, "/gitlab/webhook", body, headers))[0] == 400, body[:20]
        wrong = {**headers, "X-Gitlab-Token": "wrong"}
        assert (await post(gh, "/gitlab/webhook", body, wrong))[0] == 401
    key = {**headers, "Idempotency-Key": "k" * 300}
    valid = {"object_kind": "issue", "object_attributes": {"iid": 1, "project_id": 1}}
    assert (await post(gh, "/gitlab/webhook", json.dumps(valid).encode(), key))[0] == 400
    assert tracebacks(caplog) == []


async def test_times_beyond_the_term_plus_a_year_are_refused_by_name(harness: Harness) -> None:
    """The demo's course ends in February 2019, so the limit is a year after that."""
    limit = "the latest time I accept is 2020-02-"
    for text in (
        "/idl remind add in 99999999d town-square hi",
        "/idl remind add 9999-12-31 23:59 town-square hi",
        "/idl remind add in 600d town-square hi",
        '/idl announce --at "in 99999999d" hi',
        "/idl announce --at 9999-12-31 23:59 hi",
    ):
        reply = await harness.answer("sstober", text)
        assert "Something broke" not in reply, text
        assert limit in reply and "too far ahead" in reply and "`in 2h`" in reply, reply
    past = await harness.answer("sstober", "/idl remind add 0001-01-01 00:00 town-square hi")
    assert past == "“0001-01-01 00:00” is in the past; give a time after now."
    assert (await harness.answer("sstober", "/idl remind add in 2h town-square hi")).startswith("Reminder")


async def test_a_malformed_button_click_gets_400_and_a_forged_one_403(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    context = {"action": "post", "announcement": 1, "token": "t" * 32, "sig": "0" * 64}
    malformed: list[Any] = [
        {"user_id": "x", "context": {**context, "announcement": "1"}},
        {"user_id": "x", "context": {**context, "announcement": 2**70}},
        {"user_id": "x", "context": {**context, "sig": "\ud800"}},
        {"user_id": ["x"], "context": context},
        {"user_id": "x", "context": [context]},
        [context],
    ]
    for click in malformed:
        assert (await post(harness, "/mattermost/action", json.dumps(click).encode(), {}))[0] == 400, click
    assert (await post(harness, "/mattermost/action", b"\xff{", {}))[0] == 400
    forged = {"user_id": "x", "context": context}
    assert (await post(harness, "/mattermost/action", json.dumps(forged).encode(), {}))[0] == 403
    assert tracebacks(caplog) == [] and len(rejections(caplog, "mattermost_action")) == 7


async def test_ids_out_of_range_are_refused_not_broken(gh: Harness) -> None:
    """`remind cancel 18446744073709551616` overflowed the id column, and "²" (a digit to
    `isdigit`, none to `int`) made `int` raise: both "Something broke"."""
    for text in (
        "/idl remind cancel 18446744073709551616",
        "/idl remind test ²",
        "/idl announce cancel 99999999999999999999",
        "/idl agenda skip #99999999999",
    ):
        reply = await gh.answer("sstober", text)
        assert "Something broke" not in reply and ("number" in reply or "There is no" in reply), reply


async def test_a_get_slash_form_is_read_the_same_way(harness: Harness) -> None:
    """Mattermost can send the form as a GET query (the command's method `G`)."""
    good = harness.settings.secrets.slash_token or ""
    url = f"http://127.0.0.1:{harness.bot.port}/mattermost/command"
    async with aiohttp.ClientSession() as http:
        query = urlencode(slash_form(harness))
        async with http.get(f"{url}?{query}", headers={"Authorization": f"Token {good}"}) as resp:
            assert resp.status == 200 and (await resp.json())["text"].startswith("You are @alice")
        async with http.get(f"{url}?{query}&text=%ff", headers={"Authorization": f"Token {good}"}) as resp:
            assert resp.status == 400
        async with http.get(f"{url}?{urlencode(slash_form(harness, token='wrong'))}") as resp:
            assert resp.status == 401
