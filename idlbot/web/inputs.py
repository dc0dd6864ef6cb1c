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
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

MAX_REASON = 200  # the reason is ours, but may quote a field name; keep log lines short


class BadInput(ValueError):
    """The request cannot be read; the message says why and is safe to return."""


def json_object(body: bytes) -> dict[str, Any]:
    """`body` decoded as a JSON object. Raises BadInput for bytes that are not UTF-8, text
    that is not JSON (also numbers too long for `int` and nesting too deep for the
    decoder, and Python's NaN and Infinity, which no JSON column takes), and JSON that is
    not an object."""
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise BadInput("body is not JSON") from None
    if not isinstance(data, dict):
        raise BadInput("body is not a JSON object")
    return data


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
