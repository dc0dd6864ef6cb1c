"""domain/roles: the highest role wins; usernames compare case-insensitively."""

from __future__ import annotations

from idlbot.domain.roles import Role, role_of

INSTRUCTORS = ("sstober", "jens")
TUTORS = ("tutor1", "Jens")


def test_roles() -> None:
    assert role_of("SStober", instructors=INSTRUCTORS, tutors=TUTORS) is Role.INSTRUCTOR
    assert role_of("jens", instructors=INSTRUCTORS, tutors=TUTORS) is Role.INSTRUCTOR
    assert role_of("@Tutor1", instructors=INSTRUCTORS, tutors=TUTORS) is Role.TUTOR
    assert role_of("alice", instructors=INSTRUCTORS, tutors=TUTORS) is Role.STUDENT


def test_order_and_labels() -> None:
    assert Role.STUDENT < Role.TUTOR < Role.INSTRUCTOR
    assert [r.label for r in Role] == ["student", "tutor", "instructor"]
