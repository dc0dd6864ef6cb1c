"""What `/idl health` and `/healthz` read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class HealthSnapshot:
    """What `/idl health` and `/healthz` report."""

    websocket_state: str
    websocket_connected: bool
    reconnects: int
    database_ok: bool
    schema_revision: str | None
    schema_head: str
    outbox_backlog: int
    oldest_pending: datetime | None
    last_errors: list[tuple[str, str]] = field(default_factory=list)
    version: str = ""
    started_at: datetime | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    replica: str = ""
    leases: tuple[str, ...] = ()  # the singleton passes this replica holds the lease of
    passes: tuple[str, ...] = ()  # every singleton pass (held here or by another replica)

    @property
    def degraded(self) -> bool:
        return not (self.websocket_connected and self.database_ok)


class Health(Protocol):
    async def snapshot(self) -> HealthSnapshot: ...
