"""Structured logs: one JSON object per line, extra fields kept, secrets masked."""

from __future__ import annotations

import io
import json
import logging

from idlbot import logs


def test_json_lines_with_extras_and_redaction() -> None:
    stream = io.StringIO()
    logs.setup("INFO", secrets=["supersecrettoken", None, "abc"], stream=stream)
    log = logging.getLogger("idlbot.test")
    try:
        log.info(
            "command %s outcome=%s",
            "deadlines",
            "ok",
            extra={"event": "command", "command": "deadlines", "ms": 1.5},
        )
        log.warning("driver said: Authorization Bearer %s failed", "supersecrettoken")
    finally:
        logging.getLogger().handlers.clear()
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["msg"] == "command deadlines outcome=ok"
    assert (first["event"], first["command"], first["ms"], first["level"]) == (
        "command",
        "deadlines",
        1.5,
        "info",
    )
    assert "supersecrettoken" not in stream.getvalue()
    assert second["msg"] == "driver said: Authorization Bearer *** failed"
