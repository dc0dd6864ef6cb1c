"""A Mattermost user as the layers above the adapter see it.

The adapter (`adapters/mattermost/payloads.py`) builds these from the server's JSON, so the
dispatcher reads fields instead of digging in a dict, and the server's quirks (booleans sent
as the strings "true"/"false") stay in the adapter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class UserTimezone:
    """The user's time-zone choice in Mattermost: the zone the browser reported
    (`automatic`), the one picked by hand (`manual`), and which of them is in use. Either
    name may be empty or unknown to this system; `timefmt.user_zone` decides."""

    use_automatic: bool
    automatic: str = ""
    manual: str = ""


@dataclass(frozen=True)
class MattermostUser:
    """`timezone` is None when the server sent no time-zone object (the course zone applies)."""

    id: str
    username: str
    timezone: UserTimezone | None = None


USER_ID_LENGTH = 26
_ID = re.compile(rf"[a-z0-9]{{{USER_ID_LENGTH}}}")


def is_user_id(text: str) -> bool:
    """True for the shape of a Mattermost id: 26 lowercase letters and digits (the server
    makes them with `model.NewId()`, base32). Anything else, such as a path
    (`../users/username/sstober`), never reaches a URL or a role decision."""
    return _ID.fullmatch(text) is not None


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")


def is_username(text: str) -> bool:
    """True for what can be a Mattermost username (lowercase letters, digits, `.`, `-`,
    `_`; at most 64), and so may go into `/users/username/{name}`: no `/`, no dot segment."""
    return 0 < len(text) <= 64 and set(text) <= _NAME_CHARS and text.strip(".") != ""


class InvalidUserId(ValueError):
    """A user id that is not of Mattermost's id shape; it was not looked up."""


class UnknownUser(LookupError):
    """Mattermost has no user with this id or name (404), or the name cannot be one."""
