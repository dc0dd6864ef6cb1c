"""The slash-command form Mattermost sends, read from raw bytes into a typed value.

Two readings, so that the token is checked before anything can fail: `token_field` finds
the `token` field in any bytes at all (it never raises), and only after the token matched
does `parse` read the whole form strictly. Mattermost sends UTF-8, percent-encoded
(`application/x-www-form-urlencoded`), with ids of its own shape; anything else is not
Mattermost and gets 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

from idlbot.domain.chat import is_user_id
from idlbot.web.inputs import BadInput

MAX_FIELDS = 64  # Mattermost sends about a dozen
MAX_TEXT = 16_383  # Mattermost's own limit on a message, in characters
MAX_URL = 2_048
# C0 controls other than tab and newlines: Mattermost sends none, PostgreSQL stores no NUL
_USED = frozenset({"user_id", "channel_id", "text", "response_url", "user_name", "team_id"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# the same controls in the raw body, as bytes and percent-escaped; and an escape of a byte
# above ASCII, after which only decoding the whole body can tell whether it is UTF-8. Two
# checks, not one alternation: a pattern that starts with a literal `%` is searched for
# that byte, one that starts with a class tries every position (8 us on a 500-byte form)
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_ESCAPED_CONTROL = re.compile(rb"%(?:0[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])")
_HIGH_ESCAPE = re.compile(rb"%[89a-fA-F][0-9a-fA-F]")


@dataclass(slots=True)
class SlashForm:
    """The fields the route uses, checked: ids of Mattermost's shape, an http(s)
    response_url, text within Mattermost's message limit. Not frozen: one is made per
    request, and a frozen dataclass sets each field through `object.__setattr__` (1.0
    against 0.4 us); nothing keeps it beyond the request."""

    user_id: str
    channel_id: str
    text: str
    response_url: str
    user_name: str | None
    team_id: str | None = None  # picks the course when the deployment has several


def token_field(raw: bytes) -> str | None:
    """The first `token` field of `raw`, however malformed the rest is; None if absent.
    Bytes that are not UTF-8 read as U+FFFD, which never matches a token. A search, not a
    parse of the whole form: this runs for every request, also unauthenticated ones."""
    if raw.startswith(b"token="):
        start = len(b"token=")
    else:
        at = raw.find(b"&token=")
        if at < 0:
            return None
        start = at + len(b"&token=")
    end = raw.find(b"&", start)
    value = raw[start:] if end < 0 else raw[start:end]
    return unquote_plus(value.decode("latin-1"), encoding="utf-8", errors="replace")


def parse(raw: bytes) -> SlashForm:
    """The form in `raw`; raises BadInput naming the first problem."""
    fields = _fields(raw)
    missing = [name for name in ("user_id", "channel_id", "response_url") if not fields.get(name)]
    if missing:
        raise BadInput(f"missing fields: {', '.join(missing)}")
    for name in ("user_id", "channel_id"):
        if not is_user_id(fields[name]):
            raise BadInput(f"{name} is not a Mattermost id (26 lowercase letters and digits)")
    url = fields["response_url"]
    if len(url) > MAX_URL or not url.startswith(("http://", "https://")):
        raise BadInput(f"response_url is not an http(s) URL of at most {MAX_URL} characters")
    text = fields.get("text", "")
    if len(text) > MAX_TEXT:
        raise BadInput(f"text is longer than {MAX_TEXT} characters")
    return SlashForm(
        user_id=fields["user_id"],
        channel_id=fields["channel_id"],
        text=text,
        response_url=url,
        user_name=fields.get("user_name") or None,
        team_id=fields.get("team_id") or None,
    )


def _fields(raw: bytes) -> dict[str, str]:
    """The fields the route uses → first value, read strictly: UTF-8 bytes, UTF-8 after
    percent-decoding, at most MAX_FIELDS fields, no control characters anywhere. The
    whole body is checked in one pass and only the fields in `_USED` are decoded one by
    one: Mattermost sends about fifteen, and decoding each of them separately cost as much
    CPU as answering `/idl deadlines`. When no escape stands for a byte above ASCII (the
    usual form), the raw body already tells both things, so it is not decoded whole."""
    try:
        body = raw.decode("utf-8")
        if _HIGH_ESCAPE.search(raw) is None:
            controls = len(raw.translate(None, _CONTROL_BYTES)) != len(raw) or (
                _ESCAPED_CONTROL.search(raw) is not None
            )
        else:
            controls = _CONTROL.search(unquote_plus(body, encoding="utf-8", errors="strict")) is not None
    except UnicodeDecodeError:
        raise BadInput("the form is not UTF-8") from None
    if controls:
        raise BadInput("the form contains control characters")
    pairs = body.split("&")
    if len(pairs) > MAX_FIELDS:
        raise BadInput(f"the form has more than {MAX_FIELDS} fields")
    fields: dict[str, str] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name in _USED and name not in fields:  # plain ASCII names arrive unencoded
            fields[name] = unquote(value)
    return fields


def unquote(value: str) -> str:
    """`unquote_plus(value)`, exactly, without its general decoding where Mattermost's own
    encoding (Go's `url.QueryEscape`) leaves nothing to decode but spaces as `+`, or, in
    `response_url`, `:` and `/` as `%3A` and `%2F`: 0.3 against 2.7 us. Anything else left
    with a `%` (another escape, a lowercase one, a `%25`) goes to `unquote_plus`."""
    if "%" in value:
        value = value.replace("%3A", ":").replace("%2F", "/")  # an escaped % stays "%25"
        if "%" in value:
            return unquote_plus(value, encoding="utf-8", errors="strict")
    return value.replace("+", " ") if "+" in value else value
