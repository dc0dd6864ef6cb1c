"""Whom a text about a student addresses: the student ("you have 1 fail") or staff
reading about them ("alice has 1 fail").

A tutor looking at alice's status must not read "you can miss at most 2 more": it is
not about them. The qualification texts take a `Person` and say each phrase through it,
so the same rules read right for both. The name is defused once here, as it goes into
chat markdown wherever it is used."""

from __future__ import annotations

from dataclasses import dataclass

from idlbot.domain.defuse import defuse


@dataclass(frozen=True)
class Person:
    """`name` None: the reader themselves (second person); else a student's username,
    defused (third person)."""

    name: str | None = None

    @property
    def subject(self) -> str:
        """ "you" / "alice", as in "… by you", "exclude alice"."""
        return "you" if self.name is None else self.name

    @property
    def possessive(self) -> str:
        """ "your" / "alice's"."""
        return "your" if self.name is None else f"{self.name}'s"

    def verb(self, second: str, third: str) -> str:
        """ "you have" / "alice has": the subject with the verb in its person."""
        return f"{self.subject} {second if self.name is None else third}"


YOU = Person()


def about(username: str) -> Person:
    """The third person for staff reading about `username` (no "@": nobody is pinged)."""
    return Person(defuse(username.lstrip("@")))
