"""Who may do what: student, tutor or instructor, decided by Mattermost username.

Roles come from config (the instructors list, the tutors list and every exercise
group's tutors), not from Mattermost's own system roles: a course admin in
Mattermost is not necessarily teaching this course, and tutors are ordinary users.
"""

from __future__ import annotations

import enum
from collections.abc import Collection

from idlbot.domain.usernames import normalize_username


class Role(enum.IntEnum):
    """Ordered, so a command can require `role >= Role.TUTOR`."""

    STUDENT = 1
    TUTOR = 2
    INSTRUCTOR = 3

    @property
    def label(self) -> str:
        """The word shown to users: "student", "tutor" or "instructor"."""
        return self.name.lower()

    @property
    def with_article(self) -> str:
        """ "a student", "a tutor", "an instructor"."""
        return f"an {self.label}" if self.label[0] in "aeiou" else f"a {self.label}"


def role_of(username: str, *, instructors: Collection[str], tutors: Collection[str]) -> Role:
    """The highest role `username` holds. Mattermost usernames are case-insensitive
    (and stored lowercase), so config spelling "SStober" still matches "sstober"; a
    leading "@" as typed in chat is ignored."""
    name = normalize_username(username)
    if name in {normalize_username(i) for i in instructors}:
        return Role.INSTRUCTOR
    if name in {normalize_username(t) for t in tutors}:
        return Role.TUTOR
    return Role.STUDENT
