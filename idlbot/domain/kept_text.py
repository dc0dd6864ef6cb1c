"""Replies kept for as long as they are exact: the busiest commands' texts.

A reply that depends on `now` only through times it prints ("in 3 h", "As of 12:04")
reads the same until an instant known in advance. Such a text is kept with the interval
in which it holds and served inside it. Not a time-to-live: a request a microsecond after
the interval gets a text worked out anew. What the interval is, each text's renderer
knows (`timefmt.render_steady_until`, `qualification_render.status_steady_until`)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class _Kept:
    since: datetime
    until: datetime
    text: str
    owner: object


class KeptTexts(Generic[K]):
    """Texts by key, each with its interval; cleared when `keep` are held, like the other
    memos. `owner`, compared by identity, is the object a text was rendered from when the
    key names it by `id()` (a standing is not hashed: comparing values costs as much as
    rendering), and keeps that id from being reused while the text is held."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._kept: dict[K, _Kept] = {}

    def get(self, key: K, now: datetime, owner: object = None) -> str | None:
        kept = self._kept.get(key)
        if kept is not None and kept.owner is owner and kept.since <= now < kept.until:
            return kept.text  # a clock set back (tests) works the text out anew
        return None

    def put(self, key: K, now: datetime, until: datetime, text: str, owner: object = None) -> str:
        if len(self._kept) >= self._keep:
            self._kept.clear()
        self._kept[key] = _Kept(now, until, text, owner)
        return text
