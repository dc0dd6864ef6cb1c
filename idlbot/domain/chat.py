"""A Mattermost user as the layers above the adapter see it.

The adapter (`adapters/mattermost/payloads.py`) builds these from the server's JSON, so the
dispatcher reads fields instead of digging in a dict, and the server's quirks (booleans sent
as the strings "true"/"false") stay in the adapter.
"""

from __future__ import annotations

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
