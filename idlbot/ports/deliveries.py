"""Delivery keys already handled, per scope (`storage.deliveries.SqlDeliveryKeys`).

GitLab sends each webhook delivery with an `Idempotency-Key` and reuses it when a
delivery is resent (by hand from its recent-events log, or by the API). A path that must
act once per delivery asks `seen` before acting. The scope keeps consumers apart: each
path that reads hooks has its own, so one path claiming a key never hides the delivery
from another path that also wants it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class DeliveryKeys(Protocol):
    async def seen(self, scope: str, key: str, now: datetime) -> bool:
        """True if `key` was seen in `scope` before; else claim it and return False.
        Of concurrent callers with one key exactly one gets False, in one process or
        several, so exactly one of them acts on the delivery."""
        ...
