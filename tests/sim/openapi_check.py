"""Validate recorded HTTP exchanges against the vendored Mattermost OpenAPI spec.

`validate_exchanges(exchanges)` returns a list of human-readable problems (empty = all
conform). It is used for the simulator's own traffic and reused for the bot's traffic,
so both sides are held to the same contract. openapi-core is a test dependency, which is
why this lives in tests/ (import it as `tests.sim.openapi_check` or relatively).

Known spec-vs-server discrepancies (SOURCES.md; the Go server wins) are patched into the
loaded spec in `_apply_discrepancy_fixes`, each with a comment, instead of skipping
endpoints.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml  # type: ignore[import-untyped]
from openapi_core import Config, OpenAPI, V30RequestValidator, V30ResponseValidator
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.datastructures import ImmutableMultiDict

from idlbot.devtools.sim.mattermost import RecordedExchange

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "mattermost-openapi-v4.bundled.yaml"
HOST_URL = "http://localhost:8065"  # the spec's `servers` default; paths carry /api/v4 themselves


def _apply_discrepancy_fixes(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    # 1. CommandResponse: the spec uses Go field names (ResponseType, Text, ...), the server's
    #    JSON tags are snake_case (model/command_response.go). Nil maps/slices marshal as null.
    schemas["CommandResponse"] = {
        "type": "object",
        "properties": {
            "response_type": {"type": "string"},
            "text": {"type": "string"},
            "username": {"type": "string"},
            "channel_id": {"type": "string"},
            "icon_url": {"type": "string"},
            "type": {"type": "string"},
            "props": {"type": "object", "nullable": True},
            "goto_location": {"type": "string"},
            "trigger_id": {"type": "string"},
            "skip_slack_parsing": {"type": "boolean"},
            "attachments": {"type": "array", "nullable": True, "items": {"type": "object"}},
            "extra_responses": {
                "type": "array",
                "nullable": True,
                "items": {"$ref": "#/components/schemas/CommandResponse"},
            },
        },
    }
    # 2. AppError: `is_oauth` was removed from the server in 2024 (MM-57415); the body now is
    #    id, message, detailed_error, request_id, status_code. Pin that shape.
    schemas["AppError"] = {
        "type": "object",
        "required": ["id", "message", "detailed_error", "request_id", "status_code"],
        "properties": {
            "id": {"type": "string"},
            "message": {"type": "string"},
            "detailed_error": {"type": "string"},
            "request_id": {"type": "string"},
            "status_code": {"type": "integer"},
        },
    }


@functools.cache
def _openapi() -> OpenAPI:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open(encoding="utf-8") as fh:
        spec = yaml.load(fh, Loader=loader)  # a SafeLoader: no arbitrary objects
    _apply_discrepancy_fixes(spec)
    # The bundled spec has extra keys upstream's swagger-cli tolerates; skip meta-validation.
    config = Config(
        spec_validator_cls=None,
        request_validator_cls=V30RequestValidator,
        response_validator_cls=V30ResponseValidator,
    )
    return OpenAPI.from_dict(spec, config=config)


def _content_type(headers: dict[str, str]) -> str:
    for key, value in headers.items():
        if key.lower() == "content-type":
            return value.lower()
    return ""


def _skip_reason(ex: RecordedExchange) -> str | None:
    # Non-REST routes are not in the spec: `/hooks/commands/{id}` (response_url) is served
    # by web/webhook.go and the websocket upgrade has no `paths` entry (introduction.yaml).
    if not ex.path.startswith("/api/v4/") or ex.path.rstrip("/") == "/api/v4/websocket":
        return "not an /api/v4 REST route"
    # The rate limiter answers before the API router (Go http.Error, text/plain): the spec
    # documents it only in prose, so a 429 has no response schema to check.
    if ex.status == 429:
        return "rate limiter response"
    return None


def _check_one(app: OpenAPI, ex: RecordedExchange) -> list[str]:
    label = f"{ex.method} {ex.path} -> {ex.status}"
    request = MockRequest(
        HOST_URL,
        ex.method,
        ex.path,
        headers=dict(ex.headers),
        data=ex.body or None,
        content_type=_content_type(ex.headers) or "application/json",
    )
    # MockRequest keeps only one value per key; keep repeated query keys.
    request.parameters.query = ImmutableMultiDict(ex.query)
    problems: list[str] = []
    # Error responses are checked for their shape only: the request was wrong on purpose.
    if ex.status < 400:
        for err in app.iter_request_errors(request):
            problems.append(f"{label}: request: {_describe(err)}")
    response = MockResponse(
        ex.response_body,
        status_code=ex.status,
        headers=dict(ex.response_headers),
        content_type=_content_type(ex.response_headers),
    )
    for err in app.iter_response_errors(request, response):
        problems.append(f"{label}: response: {_describe(err)}")
    return problems


def _describe(err: Exception) -> str:
    causes: list[str] = []
    seen: BaseException | None = err
    while seen is not None and len(causes) < 4:
        extra = getattr(seen, "schema_errors", None)
        text = str(seen)
        if extra:
            text += " [" + "; ".join(str(e.message) for e in extra[:3]) + "]"
        causes.append(text)
        seen = seen.__cause__
    return " <- ".join(causes)


def validate_exchanges(exchanges: list[RecordedExchange]) -> list[str]:
    """Every recorded /api/v4 request and response checked against the spec; [] if clean."""
    app = _openapi()
    problems: list[str] = []
    for ex in exchanges:
        if _skip_reason(ex) is None:
            problems.extend(_check_one(app, ex))
    return problems


def describe_query(ex: RecordedExchange) -> str:
    """Debug helper: the exchange's query string as sent."""
    return urlencode(ex.query)
