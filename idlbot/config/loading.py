"""Reading a file and validating one course's tables: what `load` (one file) and
`load_deployment` (a deployment file and its course files) have in common."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idlbot.config.build import build, check_slurm_secret
from idlbot.config.environment import SECRET_ENV, read_secrets
from idlbot.config.errors import ConfigError
from idlbot.config.parse import parse
from idlbot.config.values import Settings


@dataclass(frozen=True)
class Unreadable:
    """Why a file could not be read, and what to do about it."""

    why: str
    fix: str

    def relative_to(self, name: str) -> Unreadable:
        """A file named relative to another one, as a deployment names its courses."""
        return Unreadable(self.why, self.fix.replace("the path", f"the path (relative to {name})"))


def read(file: Path) -> str | Unreadable:
    try:
        return file.read_text(encoding="utf-8")
    except OSError as err:
        why = err.strerror or err.__class__.__name__
        return Unreadable(why, "check the path and that this user may read it")
    except UnicodeDecodeError as err:
        return Unreadable(f"not UTF-8 text at byte {err.start}", "save it as UTF-8")


def read_or_raise(file: Path) -> str:
    text = read(file)
    if isinstance(text, Unreadable):
        raise ConfigError([f"{file}: cannot read ({text.why}); {text.fix}"], str(file))
    return text


def decode(text: str, source: str) -> dict[str, Any] | str:
    """The TOML's tables, or the problem line saying where it is not TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:  # its message ends "(at line L, column C)"
        return f"{source}: invalid TOML: {err}"


def course_settings(
    data: dict[str, Any],
    env: Mapping[str, str],
    *,
    require_secrets: bool,
    path: Path | None,
    problems: list[str],
    slash_variable: str | None = SECRET_ENV["slash_token"],
) -> Settings | None:
    """One course's settings from all of its tables (a one-course file, or a course file
    merged with its deployment's shared tables); None when `problems` says why not."""
    parsed = parse(data, problems)
    secrets = read_secrets(env, require=require_secrets, problems=problems, slash_variable=slash_variable)
    if require_secrets:
        check_slurm_secret(parsed, secrets, problems)
    settings = build(parsed, secrets, path, problems)
    return None if problems else settings
