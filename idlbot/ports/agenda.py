"""Ports of the class agenda: what the service needs, what commands get.

* `AgendaGitLab`: the slice of `GitLabClient` the agenda uses. `close_issue` is not on
  `GitLabClient` yet (the lead adds it; only `close_on_done = true` needs it).
* `AgendaOutbox`: the outbox plus a lookup of a delivered post's id (`SqlOutbox` has
  both), because re-running a freeze edits the one post instead of making a second.
* `PostEditor`: `MattermostChat.patch_post` (PUT /api/v4/posts/{id}/patch), to add.
* `Agenda`: the `Context.agenda` slot, implemented by `AgendaService`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from idlbot.domain.agenda import ClassSlot, FrozenAgenda, QuestionLike
from idlbot.ports.outbox import Outbox


class AgendaGitLab(Protocol):
    async def open_questions(self, label: str | None) -> Sequence[QuestionLike]:
        """Open issues (with `label`, or all), GitLab's popularity order, every page."""
        ...

    async def set_labels(self, iid: int, *, add: Iterable[str] = (), remove: Iterable[str] = ()) -> None: ...

    async def upsert_wiki_page(self, title: str, content: str) -> Literal["created", "updated"]: ...

    async def close_issue(self, iid: int) -> None:
        """PUT /projects/:id/issues/:iid {"state_event": "close"}."""
        ...


class SentPost(Protocol):
    """An outbox row as far as the agenda cares: the text it was queued with, and the
    Mattermost post id once delivered."""

    @property
    def message(self) -> str: ...
    @property
    def post_id(self) -> str | None: ...


class AgendaOutbox(Outbox, Protocol):
    async def get(self, key: str) -> SentPost | None: ...


class PostEditor(Protocol):
    async def patch_post(self, post_id: str, message: str) -> None:
        """Replace the message of one of the bot's posts (props, e.g. the outbox key, stay)."""
        ...


@dataclass(frozen=True)
class AgendaView:
    """`/idl agenda`: the current ranking and, once frozen, the agenda of the class."""

    slot: ClassSlot | None
    questions: Sequence[QuestionLike]
    frozen: FrozenAgenda | None
    top: int


@dataclass(frozen=True)
class FreezeResult:
    """What a freeze did. `created`: this call froze the list (False: it existed, or a
    re-freeze replaced it); `problems`: steps that failed and will be retried."""

    record: FrozenAgenda
    created: bool
    problems: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.problems and self.record.complete


class Agenda(Protocol):
    """What `/idl agenda …` needs (the `Context.agenda` slot)."""

    async def view(self, now: datetime) -> AgendaView: ...

    async def preview(self, now: datetime) -> FrozenAgenda | None:
        """What a freeze of the current class would contain now (nothing is stored)."""
        ...

    async def freeze(self, now: datetime, *, by: str) -> FreezeResult | None:
        """Freeze (or re-freeze) the current class now; None if no class is left."""
        ...

    async def skip(self, iid: int, now: datetime, *, by: str) -> tuple[ClassSlot, bool, bool]:
        """Leave `iid` out of the current class: (class, newly skipped, already frozen)."""
        ...

    async def done(self, iid: int, now: datetime, *, by: str) -> tuple[bool, str | None]:
        """Mark `iid` discussed: (newly marked, GitLab problem or None)."""
        ...
