"""How a username typed by a person becomes the key the roster and the roles compare.

Mattermost and GitLab usernames are case-insensitive and both systems store them in
lowercase; in chat people write `@Alice`, in config `SStober`, in a CSV ` alice `. Every
place that compares or looks up a username goes through `normalize_username`, so the
same person is never two people because one path stripped the "@" and another did not.
`str.lower` (not `casefold`) because that is what the roster stores: the names are
ASCII by both systems' rules, where the two agree, and a stored key must be reproducible
by the database's own `lower()`.
"""

from __future__ import annotations


def normalize_username(name: str) -> str:
    """`" @Alice "` → `"alice"`: surrounding blanks, then one leading "@", then lowercase."""
    return name.strip().removeprefix("@").lower()
