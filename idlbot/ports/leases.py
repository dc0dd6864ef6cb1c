"""Leases: which replica runs a singleton pass (implemented by `storage.leases.SqlLeases`).

Several `idlbot run` processes may share one PostgreSQL. Work that every replica could do
but only one should (a GitLab reconciliation, the sacct poll) is done by the holder of a
lease named after it. A lease is held until `expires_at`; the holder renews it well
before, so a replica killed with `kill -9` loses its leases one TTL later, and another
replica takes them over at its next renewal. Time is passed in (the injected clock).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Protocol


class Leases(Protocol):
    async def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take the lease `name` for `holder` until `now + ttl`, or renew it if `holder`
        has it; True if `holder` holds it now. One atomic statement: of two replicas
        asking at once, exactly one gets a free or expired lease."""
        ...

    async def release(self, holder: str, names: Collection[str]) -> None:
        """Give up these leases if `holder` still holds them (a clean stop): another
        replica takes them at its next renewal instead of one TTL later."""
        ...

    async def holders(self, now: datetime) -> dict[str, str]:
        """Lease name → holder, for the leases not expired at `now`."""
        ...

    async def clear(self) -> None:
        """Forget every lease: only for a database no other process can use (SQLite,
        once its lock file is ours), where leases of a killed process would only delay
        the passes of its successor by one TTL."""
        ...
