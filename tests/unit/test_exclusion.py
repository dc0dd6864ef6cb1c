"""domain/exclusion.py: exclusion as transitions, numbered per student, and their notices."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from idlbot.domain.exclusion import (
    ExclusionChange,
    ExclusionState,
    exclusion_transition,
    instructor_notice,
    is_excluded,
    notice_key,
    student_notice,
)

NOW = datetime(2018, 10, 25, 12, 0, tzinfo=UTC)


def change(excluded: bool, seq: int = 1, fails: int = 2, outcome: str = "fail") -> ExclusionChange:
    return ExclusionChange("carol", "7", seq, excluded, fails, 2, "a02", outcome, "tutor3", NOW, 11)


@pytest.mark.parametrize(
    ("fails", "limit", "excluded"), [(0, 2, False), (1, 2, False), (2, 2, True), (3, 2, True), (5, 0, False)]
)
def test_limit_fails_exclude_and_a_limit_of_zero_never_does(fails: int, limit: int, excluded: bool) -> None:
    assert is_excluded(fails, limit) is excluded


def test_the_excluding_fail_is_a_transition_and_the_same_fail_again_is_not() -> None:
    first = exclusion_transition(None, fails_before=1, fails_after=2, limit=2)
    assert first == ExclusionState(seq=1, excluded=True)
    # the instructor records the same fail: the count stays 2, the stored state says excluded
    assert exclusion_transition(first, fails_before=2, fails_after=2, limit=2) is None
    # a race: the second writer's "before" is the stored transition, not its own count
    assert exclusion_transition(first, fails_before=1, fails_after=2, limit=2) is None


def test_a_withdrawn_fail_reinstates_and_a_new_fail_excludes_again_with_new_numbers() -> None:
    excluded = ExclusionState(seq=1, excluded=True)
    back = exclusion_transition(excluded, fails_before=2, fails_after=1, limit=2)
    assert back == ExclusionState(seq=2, excluded=False)
    assert exclusion_transition(back, fails_before=1, fails_after=1, limit=2) is None
    again = exclusion_transition(back, fails_before=1, fails_after=2, limit=2)
    assert again == ExclusionState(seq=3, excluded=True)


def test_no_transition_below_the_limit_or_for_a_student_excluded_before_transitions_were_stored() -> None:
    assert exclusion_transition(None, fails_before=0, fails_after=1, limit=2) is None
    assert exclusion_transition(None, fails_before=2, fails_after=3, limit=2) is None  # told by the old code
    # ... but withdrawing one of their fails is a transition like any other
    assert exclusion_transition(None, fails_before=2, fails_after=1, limit=2) == ExclusionState(1, False)


def test_a_raised_limit_reinstates_at_the_next_record() -> None:
    stored = ExclusionState(seq=1, excluded=True)  # excluded with 2 fails when 2 excluded
    assert exclusion_transition(stored, fails_before=2, fails_after=2, limit=3) == ExclusionState(2, False)


def test_a_reinstatement_by_a_raised_limit_says_so() -> None:
    raised = ExclusionChange("carol", "7", 2, False, 2, 3, "a03", "fail", "tutor3", NOW, 12)
    assert student_notice(raised).startswith("The course now excludes at 3 fails, and you have 2 fails, so ")
    assert instructor_notice(raised) == (
        "@carol is no longer excluded from the exam: the course now excludes at 3 fails, "
        "and @carol has 2 fails (a03 recorded by @tutor3)."
    )


def test_keys_are_per_student_transition_and_recipient() -> None:
    keys = {notice_key(change(True, seq), who) for seq in (1, 3) for who in ("student", "sstober", "jens")}
    assert len(keys) == 6
    assert notice_key(change(True, 1), "student") == "exclusion:7:1:student"


def test_notices_say_what_happened_and_what_to_do() -> None:
    out = student_notice(change(True))
    assert (
        "2 fails" in out
        and "no longer sit the exam" in out
        and "talk to your tutor or the instructors" in out
    )
    assert instructor_notice(change(True)) == (
        "@carol now has 2 fails (a02, recorded by @tutor3) and is excluded from the exam."
    )
    back = student_notice(change(False, 2, fails=1, outcome="ok"))
    assert "changed to ok by @tutor3" in back and "1 fail (2 exclude)" in back
    assert "no longer exclude you" in back and "other rules still apply" in back
    assert instructor_notice(change(False, 2, fails=1, outcome="ok")) == (
        "@carol is no longer excluded from the exam: the a02 presentation was changed to ok by @tutor3, "
        "leaving 1 fail (2 exclude)."
    )
