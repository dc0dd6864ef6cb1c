"""`fire(deps, occurrence, now)`: claim → decide → enqueue (or record the skip) → record.

A plain async function, so the APScheduler alarm, the catch-up at start and the tests all
run the same code. It is reminder business logic, not scheduling: it lives with the
reminder service and reaches the database only through the `FiringStore` port.

Safe to run twice, in one process or two: the claim in `reminder_firings` lets one caller
through, and the outbox key (the firing key, or `<firing key>:<user id>` for DMs) would
turn a second enqueue into a no-op anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from idlbot.domain.errors import Unavailable
from idlbot.domain.reminders import Occurrence, decide, fill
from idlbot.ports.outbox import Outbox
from idlbot.ports.reminder_store import FiringStore
from idlbot.ports.routines import Routine

log = logging.getLogger(__name__)

Outcome = Literal["sent", "late", "skipped", "failed", "taken"]
NUDGE_MUTE = "nudges"


class Roster(Protocol):
    """Who the DMs go to; the qualification ledger provides it."""

    async def students(self) -> list[tuple[str, str]]:
        """(Mattermost user id, username) of every student."""
        ...

    async def has_hand_in(self, user_id: str, assignment_id: str) -> bool: ...

    async def group_members(self, group_id: str) -> list[str]:
        """Mattermost user ids of the students in exercise group `group_id`."""
        ...


@dataclass(frozen=True)
class FireDeps:
    """`channels` maps purposes to channel names; `channel_id` resolves a channel name
    to its Mattermost id (None: no such channel). `roster` None: DM targets fail."""

    store: FiringStore
    outbox: Outbox
    channels: Mapping[str, str]
    channel_id: Callable[[str], Awaitable[str | None]]
    roster: Roster | None = None
    questions_count: Callable[[], Awaitable[int | None]] | None = None
    wake: Callable[[], None] | None = None
    stale_claim: timedelta = timedelta(minutes=10)
    routines: Mapping[str, Routine] = field(default_factory=dict)
    """The course routines by name (rotas, blog nudges, digests): planned and fired here
    like reminders; what they post is theirs to decide."""


async def fire(deps: FireDeps, occurrence: Occurrence, now: datetime) -> Outcome:
    key = occurrence.key
    claimed = await deps.store.claim(
        key=key,
        kind=occurrence.kind,
        fire_at=occurrence.fire_at,
        target=occurrence.target.label(),
        now=now,
        stale=deps.stale_claim,
    )
    if not claimed:
        log.debug("reminder %s already claimed", key)
        return "taken"
    decision, reason = decide(occurrence, now)
    if decision == "skip":
        await deps.store.finish(key, state="skipped", reason=reason, now=now)
        log.warning("reminder %s skipped: %s", key, reason, extra={"event": "reminder", "outcome": "skipped"})
        return "skipped"
    try:
        if occurrence.target.kind == "routine":
            outbox_key, fanout, reason = await _routine(deps, occurrence, now, reason)
        else:
            outbox_key, fanout = await _enqueue(deps, occurrence, now)
    except DeliveryProblem as err:
        await deps.store.finish(key, state="failed", reason=str(err), now=now)
        log.error("reminder %s failed: %s", key, err, extra={"event": "reminder", "outcome": "failed"})
        return "failed"
    await deps.store.finish(key, state="sent", reason=reason, now=now, outbox_key=outbox_key, fanout=fanout)
    if deps.wake is not None:
        deps.wake()
    outcome: Outcome = "late" if decision == "late" else "sent"
    log.info("reminder %s %s (%s)", key, outcome, reason, extra={"event": "reminder", "outcome": outcome})
    return outcome


class DeliveryProblem(Exception):
    """The target cannot be reached (unknown channel, no roster): recorded as failed."""


async def _routine(
    deps: FireDeps, occurrence: Occurrence, now: datetime, reason: str
) -> tuple[str | None, int, str]:
    routine = deps.routines.get(occurrence.target.value)
    if routine is None:  # its config was removed after the firing was planned
        raise DeliveryProblem(f"routine {occurrence.target.value} is not configured")
    result = await routine.fire(occurrence, now)
    return result.outbox_key, result.fanout, f"{reason}; {result.reason}" if result.reason else reason


async def _text(deps: FireDeps, occurrence: Occurrence) -> str:
    filed: int | None = None
    if occurrence.kind == "questions" and deps.questions_count is not None:
        try:
            filed = await deps.questions_count()
        except Unavailable as err:
            log.warning("questions count unavailable for %s (%s)", occurrence.key, err)
        except Exception:
            log.warning("questions count unavailable for %s", occurrence.key, exc_info=True)
    return fill(occurrence, filed)


async def _enqueue(deps: FireDeps, occurrence: Occurrence, now: datetime) -> tuple[str | None, int]:
    """(outbox key of the channel post or None for DMs, number of DMs queued)."""
    target = occurrence.target
    text = await _text(deps, occurrence)
    if target.kind == "channel":
        name = deps.channels.get(target.value, target.value)
        channel_id = await deps.channel_id(name)
        if channel_id is None:
            raise DeliveryProblem(f"no channel ~{name}")
        await deps.outbox.enqueue(key=occurrence.key, message=text, now=now, channel_id=channel_id)
        return occurrence.key, 0
    if deps.roster is None:
        raise DeliveryProblem("no roster connected: cannot reach students")
    users = await _recipients(deps, deps.roster, occurrence)
    await deps.outbox.enqueue_dms(items=[(f"{occurrence.key}:{u}", u) for u in users], message=text, now=now)
    return None, len(users)


async def _recipients(deps: FireDeps, roster: Roster, occurrence: Occurrence) -> list[str]:
    target = occurrence.target
    if target.kind == "members":
        return sorted(set(await roster.group_members(target.value)))
    muted = await deps.store.muted(NUDGE_MUTE)
    missing: list[str] = []
    for user_id, _username in await roster.students():
        if user_id not in muted and not await roster.has_hand_in(user_id, target.value):
            missing.append(user_id)
    return sorted(set(missing))
