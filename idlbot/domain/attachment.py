"""A file that goes with a post (the overview chart, a CSV export)."""

from __future__ import annotations

from base64 import b64decode, b64encode
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to attach to the post (the overview chart, a CSV export). Kept in the row,
    base64 in JSON, so it survives a restart like the message itself; a few hundred KB
    at most."""

    name: str
    content_type: str
    data: bytes

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "content_type": self.content_type, "data": b64encode(self.data).decode()}

    @classmethod
    def from_json(cls, value: dict[str, str]) -> Attachment:
        return cls(value["name"], value["content_type"], b64decode(value["data"]))
