"""Port for the qualification ledger commands (issue 3): roster, ledger, records.

Owned by the qualification work; the SQL implementation lives in idlbot/storage/."""

from __future__ import annotations

from typing import Protocol


class Qualification(Protocol):
    """Filled in by the qualification ledger."""
