"""The secrets, read from the environment only.

The file can then be committed and shown around. A secret-looking key in the file is
rejected (see `errors.unknown_key`) with the variable to use instead; secret values
never appear in a repr, a message or the log summary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType


@dataclass(frozen=True, repr=False)
class Secrets:
    """Tokens from the environment, each read from IDLBOT_<NAME> (see SECRET_ENV). The
    repr says which are set, never their values."""

    mattermost_token: str | None = None
    slash_token: str | None = None
    gitlab_token: str | None = None
    gitlab_webhook_secret: str | None = None
    slurm_secret: str | None = None

    def __repr__(self) -> str:
        shown = (f"{name}={'<set>' if getattr(self, name) else None}" for name in SECRET_ENV)
        return f"Secrets({', '.join(shown)})"

    __str__ = __repr__


SECRET_ENV: Mapping[str, str] = MappingProxyType(
    {f.name: f"IDLBOT_{f.name.upper()}" for f in fields(Secrets)}
)
"""Secret → its environment variable, e.g. slash_token → IDLBOT_SLASH_TOKEN."""

REQUIRED_SECRETS: tuple[str, ...] = ("mattermost_token", "slash_token")

_HINTS: tuple[tuple[str, str], ...] = (
    ("slash", "slash_token"),
    ("webhook", "gitlab_webhook_secret"),
    ("slurm", "slurm_secret"),
    ("gitlab", "gitlab_token"),
    ("token", "mattermost_token"),
)
"""A word in a secret-looking key's path → the secret it probably meant; the first match
wins, so the specific words come before "token"."""

_SECRETISH = re.compile(r"token|secret|passw|api_?key|credential", re.IGNORECASE)


def read_secrets(
    env: Mapping[str, str],
    *,
    require: bool,
    problems: list[str],
    slash_variable: str | None = SECRET_ENV["slash_token"],
) -> Secrets:
    """Blank counts as unset, so `IDLBOT_SLASH_TOKEN= ` does not pass for a token.

    `slash_variable` is where this course's slash token is (`slash_token_variable`);
    None reads none (a course whose id is unusable: its id problem is listed instead)."""
    variables = {**SECRET_ENV, "slash_token": slash_variable}
    values = {name: ((env.get(v) or "").strip() or None) if v else None for name, v in variables.items()}
    if require:
        problems.extend(
            f"env {variables[n]}: missing" for n in REQUIRED_SECRETS if values[n] is None and variables[n]
        )
    return Secrets(**values)


def slash_token_variable(course_id: str, *, several: bool) -> str:
    """Where a course's /idl token is. Mattermost gives every slash command its own token,
    and a deployment of several courses has one command per team: IDLBOT_SLASH_TOKEN_IDL
    for course "idl" ('-' becomes '_'). One course keeps IDLBOT_SLASH_TOKEN."""
    base = SECRET_ENV["slash_token"]
    return f"{base}_{course_id.upper().replace('-', '_')}" if several else base


def looks_secret(key: str) -> bool:
    return _SECRETISH.search(key) is not None


def secret_variable(where: str) -> str:
    """The variable a secret-looking key at `where` probably meant, from its path's words."""
    words = where.lower()
    for hint, secret in _HINTS:
        if hint in words:
            return SECRET_ENV[secret]
    return " or ".join(SECRET_ENV.values())
