"""Tables that only grow unless someone prunes them (`services.housekeeping`).

Implemented by `storage.handled.SqlHandledPosts` and `storage.deliveries.SqlDeliveryKeys`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Prunable(Protocol):
    async def prune(self, before: datetime) -> int:
        """Delete the rows recorded before `before`; returns how many. The caller picks
        `before` so that nothing pruned can still be asked about."""
        ...
