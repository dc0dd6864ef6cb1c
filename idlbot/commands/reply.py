"""What a command returns. A reply is data, so the same command can answer a slash
command (as its HTTP response), a DM (as a post) or an @-mention."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    text: str
    ephemeral: bool = True
    props: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def private(cls, text: str) -> Reply:
        """Only the asking user sees it (ephemeral for slash commands, DM otherwise)."""
        return cls(text=text, ephemeral=True)

    @classmethod
    def public(cls, text: str) -> Reply:
        """Visible to the whole channel the command was typed in."""
        return cls(text=text, ephemeral=False)
