"""Deliveries that failed for good, for `/idl health` and for telling their authors.

A post fails for good in one of two places: the outbox gives up on it (Mattermost refused
it: channel archived, bot removed), or a reminder's channel cannot be found when it fires
(deleted, made private without the bot), so nothing was queued. Both are read here as one
list (`storage.delivery_failures.SqlDeliveryFailures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

NOTICE_PREFIX = "failed:"
"""The outbox key of the notice about a failure is this + the failed key: the outbox's
unique key makes it one notice per failure, across crashes, restarts and processes."""


@dataclass(frozen=True)
class DeliveryFailure:
    """`key`: the outbox (or reminder firing) key; `at`: when it was given up."""

    key: str
    error: str
    at: datetime


class FailureLog(Protocol):
    async def unreported(
        self, *, prefixes: Sequence[str], since: datetime, limit: int = 50
    ) -> list[DeliveryFailure]:
        """Failures since `since` whose key starts with one of `prefixes` and that have no
        notice (`NOTICE_PREFIX` + key) in the outbox yet, oldest first."""
        ...
