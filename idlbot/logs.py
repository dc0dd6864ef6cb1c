"""Structured logs: one JSON object per line, never a token.

Each command, websocket event and delivery logs one line with `event`, `outcome` and a
duration (passed as `extra=`). The redaction filter is defence in depth: secrets are
never formatted into messages on purpose, but a library's exception text might echo a
header, so every known secret value is masked before a line is written.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


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
        if redacted != message:
            record.msg, record.args = redacted, None
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
    handler = logging.StreamHandler(stream or sys.stderr)
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
