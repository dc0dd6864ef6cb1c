"""What every route does with input it did not expect: a 400 and one log line.

Anything that arrives on a socket can be malformed, so the routes read bodies as bytes and
turn them into typed values here or in their parsers; a wrong shape raises `BadInput`,
which the route answers with 400 and one warning line (no traceback: a malformed request
is the sender's mistake, not a bug of ours, and a traceback per request would let anybody
fill the log).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

MAX_REASON = 200  # the reason is ours, but may quote a field name; keep log lines short
MAX_NESTING = 64  # GitLab's hooks nest about 5 deep, our own bodies 2

# the bytes that `nested_at_most` deletes first: all but brackets, quotes, backslashes and
# the characters that can follow a backslash in JSON
_NOT_SYNTAX = bytes(range(256)).translate(None, b'[]{}"\\/bfnrtu')
_NOT_BRACKET = bytes(range(256)).translate(None, b"[]{}")
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_INNERMOST = re.compile(rb"\[\]|\{\}")


class BadInput(ValueError):
    """The request cannot be read; the message says why and is safe to return."""


def json_object(body: bytes) -> dict[str, Any]:
    """`body` decoded as a JSON object. Raises BadInput for bytes that are not UTF-8, text
    that is not JSON (also numbers too long for `int`, and Python's NaN and Infinity, which
    no JSON column takes), JSON nested more than MAX_NESTING deep, and JSON that is not an
    object."""
    if not nested_at_most(body, MAX_NESTING):
        raise BadInput(f"body is not JSON, or nested more than {MAX_NESTING} deep")
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # RecursionError: not from the body, which is
        raise BadInput("body is not JSON") from None  # shallow now, but from a deep caller
    if not isinstance(data, dict):
        raise BadInput("body is not a JSON object")
    return data


def nested_at_most(body: bytes, depth: int) -> bool:
    """Whether the arrays and objects in `body` nest at most `depth` deep. Exact for valid
    JSON (brackets inside strings do not count). For any body, True means that the decoder
    never opens more than `depth` levels before it accepts or refuses it: True needs every
    bracket outside strings to be closed within `depth` levels, and up to where a body stops
    being JSON, the decoder sees strings where this check does.

    Why not let the decoder refuse: it recurses once per level, up to the interpreter's
    recursion limit. A garbage collection that runs meanwhile calls finalizers (transports,
    connections) with almost no stack left; they fail with RecursionError and their
    cleanup is lost ("Exception ignored in ..."). Anybody can send `[[[[...` to the action
    route, so this check runs first, at C speed: strip escapes and strings, keep the
    brackets, remove innermost pairs once per level."""
    if body.count(b"[") + body.count(b"{") <= depth:
        return True
    skeleton = body.translate(None, _NOT_SYNTAX)
    skeleton = _STRING.sub(b"", _ESCAPE.sub(b"", skeleton)).translate(None, _NOT_BRACKET)
    for _ in range(depth):
        if not skeleton:
            return True
        skeleton = _INNERMOST.sub(b"", skeleton)
    return not skeleton


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def bad_request(request: web.Request, event: str, reason: object) -> web.Response:
    """The 400 for a malformed request, logged once without a traceback."""
    text = str(reason)[:MAX_REASON]
    log.warning(
        "%s rejected from %s: %s",
        event,
        request.remote,
        text,
        extra={"event": event, "outcome": "bad_request"},
    )
    body = json.dumps({"error": text}).encode()
    return web.Response(body=body, status=400, content_type="application/json")


def secret_bytes(text: str) -> bytes:
    """`text` as bytes for a constant-time compare. Headers with raw non-UTF-8 bytes reach
    us as lone surrogates (aiohttp decodes them with `surrogateescape`), and so can JSON
    strings (`"\\ud800"`); plain `.encode()` raises on those, which made a 500 out of a
    wrong token. Such a value never matches a secret, which is plain text."""
    return text.encode("utf-8", "surrogatepass")
