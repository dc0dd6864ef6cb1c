"""Exclusion from the exam as transitions, so each one is announced exactly once.

The course's rule: every failed presentation is one fail, and `fails_to_exclusion` fails
exclude the student (`domain/qualification.py` shows it in the standing). Being excluded
is a state; what students and instructors are told about is its *change*: not excluded →
excluded, and back (reinstated) when a fail is withdrawn (a presentation corrected to
ok) or the course's limit changes. Announcing per record instead told Carol twice when a
tutor and then an instructor recorded the same fail.

Only presentations and the limit decide exclusion. Hand-ins (GitLab pushes,
reconciliation, overrides, an excuse: "an excused assignment keeps its fails"), the
group paper and roster edits (`active=`) cannot change it, so only a presentation record
computes a transition; `is_excluded` is the one definition `evaluate` uses too.

Each transition gets the next number in the student's sequence (1, 2, 3 …), kept in
the database with what it was about (`domain/transitions.py`, shared with the early
warnings). The notices' outbox keys carry that number, so a
record repeated, retried, raced or replayed after a crash maps to the same keys (told
once), while a genuine later transition (excluded → reinstated → excluded again) has a
new number and is told again. Pure: no I/O, same inputs, same output.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from idlbot.domain.defuse import defuse
from idlbot.domain.transitions import Transition, next_transition

__all__ = [
    "ExclusionChange",
    "ExclusionState",
    "exclusion_transition",
    "instructor_notice",
    "is_excluded",
    "notice_key",
    "student_notice",
]


def is_excluded(fails: int, limit: int) -> bool:
    """`limit` fails exclude; a limit of 0 (or less) means fails never exclude."""
    return limit > 0 and fails >= limit


@dataclass(frozen=True)
class ExclusionState:
    """The last transition stored for a student: its number and where it left them."""

    seq: int
    excluded: bool


@dataclass(frozen=True)
class ExclusionChange:
    """One transition, with what the notices say about it. `assignment_id`, `outcome`
    and `actor` are the presentation record that caused it, `record_id` its audit entry."""

    student: str  # Mattermost username
    student_key: str  # stable id of the student (the roster row), for the outbox keys
    seq: int
    excluded: bool  # True: now excluded; False: reinstated
    fails: int
    limit: int
    assignment_id: str
    outcome: str  # "ok" or "fail": what the presentation is now recorded as
    actor: str
    at: datetime
    record_id: int


def exclusion_transition(
    last: ExclusionState | None, *, fails_before: int, fails_after: int, limit: int
) -> ExclusionState | None:
    """The new state if this change is a transition, else None.

    "Before" is the last stored transition when there is one: two records of the same
    fail both compute "excluded after", but only the first finds "not excluded" stored.
    A student with no stored transition yet was never announced under this scheme, so
    before is what their fails said before the change (a student excluded before the
    transitions were stored is not told again)."""
    stored = None if last is None else Transition(last.seq, last.excluded)
    found = next_transition(stored, is_excluded(fails_after, limit), initial=is_excluded(fails_before, limit))
    return None if found is None else ExclusionState(seq=found.seq, excluded=found.state)


def notice_key(change: ExclusionChange, recipient: str) -> str:
    """The outbox key of one notice: per student, per transition, per recipient."""
    return f"exclusion:{change.student_key}:{change.seq}:{recipient}"


def _fails(count: int) -> str:
    return "1 fail" if count == 1 else f"{count} fails"


def student_notice(change: ExclusionChange) -> str:
    """The DM to the student: what changed, what it means, whom to talk to."""
    aid = defuse(change.assignment_id)
    if change.excluded:
        return (
            f"You now have {_fails(change.fails)} in presentations ({aid} was the latest), and "
            f"{_fails(change.limit)} exclude from the exam, so you can no longer sit the exam this term. "
            "If you think a record is wrong, please talk to your tutor or the instructors."
        )
    if change.outcome == "fail":  # reinstated by a fail: the course raised its limit meanwhile
        cause = f"The course now excludes at {_fails(change.limit)}, and you have {_fails(change.fails)}"
    else:
        cause = (
            f"Your presentation record of {aid} was changed to {defuse(change.outcome)} by "
            f"@{change.actor}. You now have {_fails(change.fails)} ({change.limit} exclude)"
        )
    return (
        f"{cause}, so failed presentations no longer exclude you from the exam. The other rules "
        "still apply: `/idl status` shows where you stand."
    )


def instructor_notice(change: ExclusionChange) -> str:
    """The DM to each instructor: who, what record, by whom."""
    # usernames come from the roster and from Mattermost (a restricted alphabet), not free
    # text; they stay plain so staff can click them, as in every other staff message
    who, aid, actor = f"@{change.student}", defuse(change.assignment_id), f"@{change.actor}"
    if change.excluded:
        return (
            f"{who} now has {_fails(change.fails)} ({aid}, recorded by {actor}) "
            "and is excluded from the exam."
        )
    if change.outcome == "fail":
        return (
            f"{who} is no longer excluded from the exam: the course now excludes at "
            f"{_fails(change.limit)}, and {who} has {_fails(change.fails)} ({aid} recorded by {actor})."
        )
    return (
        f"{who} is no longer excluded from the exam: the {aid} presentation was changed to "
        f"{defuse(change.outcome)} by {actor}, leaving {_fails(change.fails)} ({change.limit} exclude)."
    )
