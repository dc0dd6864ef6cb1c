"""web/server.reply_response: a kept body is byte for byte the reply's JSON."""

from __future__ import annotations

import json

from idlbot.commands.reply import Reply
from idlbot.web import server


def body(reply: Reply) -> bytes:
    response = server.reply_response(reply)
    assert response.content_type == "application/json"
    assert isinstance(response.body, bytes)
    return response.body


def test_the_body_is_the_payload_and_is_kept_by_text() -> None:
    text = 'Times are in Europe/Berlin.\n- **a08** due Tue 04 Dec 2018, 23:59 CET (in 6 days) \u2013 "quoted"'
    first = body(Reply.private(text))
    assert json.loads(first) == {"response_type": "ephemeral", "text": text, "skip_slack_parsing": True}
    assert body(Reply.private(text)) is first
    public = json.loads(body(Reply.public(text)))
    assert public["response_type"] == "in_channel"  # the same text, another kind of reply


def test_replies_with_props_are_not_kept_and_the_keep_is_bounded() -> None:
    with_props = Reply("x", props={"attachments": [{"text": "y"}]})
    assert json.loads(body(with_props))["props"] == {"attachments": [{"text": "y"}]}
    for n in range(server.KEEP_BODIES + 5):
        body(Reply.private(f"reply {n}"))
    assert len(server._BODIES) <= server.KEEP_BODIES
    assert json.loads(body(Reply.private("reply 3")))["text"] == "reply 3"
