"""The wording of the audit trail: the short "before → after" states `/idl audit` shows.

Every staff change stores its before and after state as text, written when the change is
made, so the trail still reads right after the config or the rules change. The words are
the course's (what staff read in chat), so they are made here and storage only keeps
them; a test pins each form because old rows keep the old wording forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from idlbot.domain.ledger import HandInStatus, Outcome, gitlab_status

PAPER_STATES: Mapping[bool, str] = {True: "counts", False: "does not count"}


def override_state(status: HandInStatus, by: str) -> str:
    """`excused (override by @stober)`."""
    return f"{status} (override by @{by})"


def pushed_state(received: datetime, due: datetime | None) -> str:
    """`late (gitlab, 2018-10-16 23:00 UTC)`: the verdict the push had when the change
    was made, and when GitLab received it (UTC: staff in any zone read the same text)."""
    return f"{gitlab_status(received, due)} (gitlab, {received.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"


def hand_in_state(
    override: tuple[HandInStatus, str] | None, received: datetime | None, due: datetime | None
) -> str | None:
    """What decided the hand-in before a change: the override (status, by) if any, which
    always wins, else the GitLab push; None when there was neither."""
    if override is not None:
        return override_state(*override)
    if received is not None:
        return pushed_state(received, due)
    return None


def presentation_state(outcome: Outcome, by: str) -> str:
    """`fail (by @tutor1)`."""
    return f"{outcome} (by @{by})"


def paper_state(done: bool | None) -> str | None:
    """`counts`, `does not count`, or None while the paper is not decided."""
    return None if done is None else PAPER_STATES[done]


def roster_state(values: Mapping[str, str | bool | None]) -> str:
    """`cluster=-, group_id=g1`: the changed roster fields, by name, `-` for empty."""
    return ", ".join(f"{k}={'-' if v is None else v}" for k, v in sorted(values.items()))
