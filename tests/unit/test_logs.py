"""Structured logs: one JSON object per line, extra fields kept, secrets masked."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

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


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, s: str) -> int:
        self.writes += 1
        return super().write(s)


def test_a_loop_iterations_lines_go_out_in_one_write_in_order() -> None:
    stream = CountingStream()
    logs.setup("INFO", stream=stream)
    log = logging.getLogger("idlbot.test")

    async def burst() -> tuple[int, int]:
        for n in range(5):
            log.info("line %d", n)
        held = stream.writes  # nothing written while the iteration runs
        await asyncio.sleep(0)  # the next iteration writes them
        return held, stream.writes

    try:
        held, after = asyncio.run(burst())
        log.info("off the loop")  # written at once
    finally:
        logging.getLogger().handlers.clear()
    assert (held, after) == (0, 1)
    assert [json.loads(line)["msg"] for line in stream.getvalue().splitlines()] == [
        *(f"line {n}" for n in range(5)),
        "off the loop",
    ]


def test_lines_still_buffered_are_written_at_shutdown() -> None:
    stream = CountingStream()
    logs.setup("INFO", stream=stream)

    async def last_words() -> None:
        logging.getLogger("idlbot.test").info("bye")
        asyncio.get_running_loop().stop()  # the flush never gets its turn

    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(last_words())
        loop.run_forever()
        assert task.done()
        assert stream.getvalue() == ""
        logging.getLogger().handlers[0].flush()  # as `logging.shutdown` does at exit
    finally:
        loop.close()
        logging.getLogger().handlers.clear()
    assert json.loads(stream.getvalue())["msg"] == "bye"


def test_a_stream_that_fails_loses_its_lines_without_raising_into_the_loop(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream = CountingStream()
    logs.setup("INFO", stream=stream)
    stream.close()  # every write now raises ValueError

    async def log_then_run() -> None:
        logging.getLogger("idlbot.test").info("lost")
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    try:
        asyncio.run(log_then_run())  # an exception in the flush would surface here or loop
    finally:
        logging.getLogger().handlers.clear()
    assert "1 log lines not written" in capsys.readouterr().err


def test_a_flush_with_nothing_buffered_raises_as_logging_shutdown_expects(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """At exit `logging.shutdown` flushes every handler ever made and ignores the
    ValueError of a stream already closed (pytest's, for one); a report there was noise."""
    stream = io.TextIOWrapper(io.BytesIO())  # like sys.stderr, its flush raises once closed
    logs.setup("INFO", stream=stream)
    handler = logging.getLogger().handlers[0]
    logging.getLogger().handlers.clear()
    stream.close()
    with pytest.raises(ValueError, match="closed file"):
        handler.flush()
    assert "Logging error" not in capsys.readouterr().err


def test_extras_keep_their_order_and_what_orjson_refuses_is_still_written() -> None:
    """orjson writes the lines; an integer beyond 64 bits or a lone surrogate, which it
    refuses, goes through the standard library's encoder instead of losing the line."""
    stream = io.StringIO()
    logs.setup("INFO", stream=stream)
    log = logging.getLogger("idlbot.test")
    try:
        log.info("a", extra={"event": "command", "command": "status", "outcome": "ok", "ms": 0.1})
        log.info("b", extra={"event": "big", "jobs": 2**70, "when": {3: "three"}})
        log.info("c", extra={"event": "odd", "text": "half a pair \ud800"})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("d", extra={"event": "crash"})
    finally:
        logging.getLogger().handlers.clear()
    a, b, c, d = (json.loads(line) for line in stream.getvalue().splitlines())
    assert list(a) == ["ts", "level", "logger", "msg", "event", "command", "outcome", "ms"]
    assert (b["jobs"], b["when"]) == (2**70, {"3": "three"})
    assert c["text"] == "half a pair \ud800"
    assert (d["event"], d["level"]) == ("crash", "error") and "ValueError: boom" in d["exc"]
