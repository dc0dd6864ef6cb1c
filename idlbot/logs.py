"""Structured logs: one JSON object per line, never a token.

Each command, websocket event and delivery logs one line with `event`, `outcome` and a
duration (passed as `extra=`). The redaction filter is defence in depth: secrets are
never formatted into messages on purpose, but a library's exception text might echo a
header, so every known secret value is masked before a line is written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import islice
from typing import TextIO

import orjson

_FRESH = vars(logging.makeLogRecord({}))
_STANDARD = frozenset(_FRESH) | {"message", "asctime"}
# A record's own attributes come first, then `extra=`'s (`Logger.makeRecord` sets them
# after building the record): only what follows the first `_OWN` can be an extra.
_OWN = len(_FRESH)
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)  # what orjson cannot encode


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", <extras>}`. Every command writes one line, so this
    runs thousands of times a second under load: orjson encodes it (0.2 us against the
    standard library's 2.5 us, whose encoder remains for what orjson refuses: an integer
    beyond 64 bits, a lone surrogate), only the attributes after the record's own are
    looked at for extras, and the timestamp's whole seconds are formatted once a second."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._prefix = ""

    def _ts(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._prefix}.{int((created - second) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": self._ts(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        attributes = vars(record)
        for key in islice(attributes, _OWN, None):
            if key not in _STANDARD and key[0] != "_":
                entry[key] = attributes[key]
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:  # orjson.JSONEncodeError
            return _ENCODER.encode(entry)


class LoopBatchedHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that, on the event loop's thread, writes the lines of one loop
    iteration together, at the start of the next one: one `write` system call for all
    the commands a busy iteration answered, instead of one per line. Off the loop (the
    CLI, worker threads) each line is written at once, after what is buffered, so the
    order holds. A stream that fails loses its lines with logging's usual report on
    stderr (`handleError`), never an exception in the loop, which would log again.

    What a `kill -9` can lose is the current iteration's lines (milliseconds); a normal
    exit writes them (`logging.shutdown`, at exit, flushes every handler)."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._lines: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop a flush is due on

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self._lines.append(line)
                self.flush()
                return
            self._lines.append(line)
            if self._loop is not loop:  # one flush per loop iteration
                self._loop = loop
                loop.call_soon(self.flush)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - logging's own contract: report, never raise
            self.handleError(record)

    def flush(self) -> None:
        self.acquire()
        try:
            lines, self._lines, self._loop = self._lines, [], None
            if lines:
                self.stream.write("".join(lines))
            super().flush()
        except Exception:
            if not lines:  # nothing lost: raise, as StreamHandler.flush (`logging.shutdown` expects it)
                raise
            # as `emit` would: report, never raise into the loop
            self.handleError(logging.makeLogRecord({"msg": f"{len(lines)} log lines not written"}))
        finally:
            self.release()


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "***")
        record.msg, record.args = redacted, None  # formatted once: the formatter reads it as is
        return True


def _quiet_driver(record: logging.LogRecord) -> bool:
    """The Mattermost driver sets its loggers' level when it is imported, which may be after
    `setup` (the CLI's one-shot commands import it lazily): filter its records here too."""
    return not record.name.startswith("mattermostautodriver") or record.levelno >= logging.CRITICAL


def setup(
    level: str = "INFO",
    *,
    secrets: Iterable[str | None] = (),
    json_lines: bool = True,
    stream: TextIO | None = None,
) -> None:
    # Nothing we write names the thread, the process or the caller's source line, and
    # logging looks each up for every record (the caller by walking the stack): a tenth of
    # a cached `/idl deadlines`. The logging HOWTO's "Optimization" section lists these.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None  # documented there, though private
    handler = LoopBatchedHandler(stream or sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    handler.addFilter(_quiet_driver)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # the Mattermost driver forces its loggers to INFO and logs every REST error at ERROR;
    # our adapter reports failures itself, once, with context
    for name in ("mattermostautodriver", "mattermostautodriver.api", "mattermostautodriver.websocket"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    for name in ("httpx", "httpcore", "aiohttp.access", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
