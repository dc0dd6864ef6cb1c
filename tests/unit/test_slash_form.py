"""`web/slash_form.py`: the token is found in any bytes; the rest is read strictly."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idlbot.web.inputs import BadInput
from idlbot.web.slash_form import parse, token_field, unquote

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


@pytest.mark.parametrize(
    "extra",
    [b"&x=%00", b"&x=%1F", b"&x=%7f", b"&x=%0B", b"&x=\x01", b"&x=%c3%a9%01", b"&x=%%08", b"&x=\x7f%c3%a9"],
)
def test_a_control_character_in_any_field_is_refused_escaped_or_not(extra: bytes) -> None:
    with pytest.raises(BadInput, match="control characters"):
        parse(urlencode(FORM).encode() + extra)


@pytest.mark.parametrize("extra", [b"&x=%09%0a%0D", b"&x=%2500", b"&x=%c3%a9", b"&x=%G0", b"&x=caf\xc3\xa9"])
def test_tabs_newlines_and_non_ascii_pass(extra: bytes) -> None:
    assert parse(urlencode(FORM).encode() + extra).user_id == ID


ESCAPES = st.sampled_from(
    ["%00", "%09", "%0a", "%1f", "%20", "%7F", "%80", "%c3", "%A9", "%e2%82%ac", "%ff", "%"]
)
CHUNKS = st.one_of(ESCAPES, st.text(max_size=3), st.binary(max_size=2).map(lambda b: b.decode("latin-1")))


@given(st.lists(CHUNKS, max_size=8))
def test_the_raw_check_agrees_with_decoding_the_whole_body(chunks: list[str]) -> None:
    """The fast reading of the raw body refuses exactly what decoding it whole refuses."""
    raw = urlencode(FORM).encode() + b"&x=" + "".join(chunks).encode("utf-8", "surrogatepass")
    try:
        body = raw.decode("utf-8")
        whole = unquote_plus(body, encoding="utf-8", errors="strict")
        expected = "control characters" if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", whole) else None
    except UnicodeDecodeError:
        expected = "not UTF-8"
    try:
        parse(raw)
        got = None
    except BadInput as err:
        said = str(err)
        got = "not UTF-8" if "UTF-8" in said else "control characters" if "control" in said else said
    assert got == expected


PIECES = st.one_of(
    st.sampled_from(["%3A", "%2F", "%3a", "%2f", "%25", "%253A", "%2B", "%20", "%C3%A9", "%C3", "%", "+"]),
    st.text(max_size=3),
)


@given(st.lists(PIECES, max_size=8))
def test_unquote_is_unquote_plus_exactly(pieces: list[str]) -> None:
    """Its shortcut for Mattermost's usual escapes decodes every value as `unquote_plus`
    does, and what that refuses (UTF-8 broken by an escape) it refuses alike."""
    value = "".join(pieces)
    try:
        expected: str | type[Exception] = unquote_plus(value, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        expected = UnicodeDecodeError
    try:
        got: str | type[Exception] = unquote(value)
    except UnicodeDecodeError:
        got = UnicodeDecodeError
    assert got == expected


def test_mattermosts_response_url_and_text_decode_on_the_shortcut() -> None:
    url = "http://127.0.0.1:8065/hooks/commands/x"
    parsed = parse(urlencode({**FORM, "response_url": url, "text": "jobs why 42"}).encode())
    assert (parsed.response_url, parsed.text) == (url, "jobs why 42")
