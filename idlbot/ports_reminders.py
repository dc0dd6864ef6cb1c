"""Port for the reminder commands (issue 4): rules, firings, mutes, calendar tokens.

Owned by the reminders work; the SQL implementation lives in idlbot/storage/."""

from __future__ import annotations

from typing import Protocol


class Reminders(Protocol):
    """Filled in by the reminders work."""
