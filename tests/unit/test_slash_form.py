"""`web/slash_form.py`: the token is found in any bytes; the rest is read strictly."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from idlbot.web.inputs import BadInput
from idlbot.web.slash_form import parse, token_field

ID = "a" * 26
FORM = {"user_id": ID, "channel_id": "b" * 26, "response_url": "http://mm/hooks/x", "text": "whoami"}


@pytest.mark.parametrize(
    ("raw", "token"),
    [
        (b"token=abc&text=\xff\xfe", "abc"),
        (b"text=%ff&token=a%2Bb+c", "a+b c"),
        (b"token=&token=second", ""),
        (b"xtoken=no&text=1", None),
        (b"\xff" * 100, None),
        (b"token=\xff", "\u00ff"),  # a raw byte never matches an ASCII token
    ],
)
def test_the_token_is_found_however_malformed_the_rest(raw: bytes, token: str | None) -> None:
    assert token_field(raw) == token


def test_a_good_form_reads_into_its_fields() -> None:
    form = parse(urlencode({**FORM, "user_name": "alice", "text": "remind add in 2h ~x Hi 🙂"}).encode())
    assert (form.user_id, form.text, form.user_name) == (ID, "remind add in 2h ~x Hi 🙂", "alice")
    assert parse(urlencode(FORM).encode()).user_name is None


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (urlencode(FORM).encode() + b"&x=\xff", "the form is not UTF-8"),
        (urlencode(FORM).encode() + b"&x=%ed%a0%80", "the form is not UTF-8"),
        (urlencode({**FORM, "text": "a\x00b"}).encode(), "the form contains control characters"),
        (urlencode({k: v for k, v in FORM.items() if k != "user_id"}).encode(), "missing fields: user_id"),
        (urlencode({**FORM, "user_id": "a" * 10_000}).encode(), "user_id is not a Mattermost id"),
        (urlencode({**FORM, "channel_id": "../x"}).encode(), "channel_id is not a Mattermost id"),
        (urlencode({**FORM, "response_url": "file:///etc/passwd"}).encode(), "response_url is not"),
        (urlencode({**FORM, "text": "x" * 16_384}).encode(), "text is longer than 16383"),
        (urlencode({**FORM, **{f"f{i}": "" for i in range(70)}}).encode(), "more than 64 fields"),
    ],
)
def test_a_malformed_form_names_its_problem(raw: bytes, error: str) -> None:
    with pytest.raises(BadInput, match=error.replace("(", r"\(")):
        parse(raw)
