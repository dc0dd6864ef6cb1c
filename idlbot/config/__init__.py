"""TOML file + environment → validated, frozen `Settings`.

Why it looks like this:

* Every problem is reported at once, as "dotted.key: message" lines in one
  `ConfigError`; array entries count from 0 (`assignments[2]` is the third
  `[[assignments]]` table). Each section is validated on its own (`parse`), then the
  cross-field checks run on whatever validated (`build`).
* Each setting is declared once, with its type, limits and default: in `values` when
  the app uses the table as written ([server], [gitlab], ...), in `schema` when a
  builder turns it into a domain value (the course, reminders, the agenda).
* Unknown keys are errors, with a "did you mean" hint. Secrets come only from the
  environment (`environment`); a secret-looking key in the file names the variable to
  use instead, and a password in `database.url` is rejected (asyncpg reads PGPASSWORD).
* Pydantic is used inside this package only; the rest of the app gets standard frozen
  dataclasses and domain objects.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from idlbot.config.build import build, check_slurm_secret
from idlbot.config.environment import SECRET_ENV, Secrets, read_secrets
from idlbot.config.errors import ConfigError
from idlbot.config.parse import parse
from idlbot.config.values import (
    DatabaseSettings,
    GitLabSettings,
    MattermostSettings,
    RolesSettings,
    ServerSettings,
    Settings,
    SlurmSettings,
)

__all__ = [
    "SECRET_ENV",
    "ConfigError",
    "DatabaseSettings",
    "GitLabSettings",
    "MattermostSettings",
    "RolesSettings",
    "Secrets",
    "ServerSettings",
    "Settings",
    "SlurmSettings",
    "example_config_path",
    "load",
    "loads",
]


def load(path: str | Path, env: Mapping[str, str] | None = None, *, require_secrets: bool = True) -> Settings:
    """Read and validate the TOML file at `path`; secrets from `env` (default os.environ)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        why = err.strerror or err.__class__.__name__
        raise ConfigError(
            [f"{file}: cannot read ({why}); check the path and that this user may read it"], str(file)
        ) from None
    except UnicodeDecodeError as err:
        raise ConfigError(
            [f"{file}: cannot read (not UTF-8 text at byte {err.start}); save it as UTF-8"], str(file)
        ) from None
    return _load(text, env, require_secrets=require_secrets, source=str(file), path=file)


def loads(
    text: str,
    env: Mapping[str, str] | None = None,
    *,
    require_secrets: bool = True,
    source: str = "<string>",
) -> Settings:
    """Validate TOML text; `source` only names it in the error message."""
    return _load(text, env, require_secrets=require_secrets, source=source, path=None)


def example_config_path() -> Path:
    """The shipped example (the real 2018 course), used by `idlbot demo` and tests.

    It lives in the package (idlbot/data/) so a plain wheel install has it; the
    config.example.toml at the top of the checkout is a symlink to it.
    """
    return Path(__file__).resolve().parent.parent / "data" / "config.example.toml"


def _load(
    text: str, env: Mapping[str, str] | None, *, require_secrets: bool, source: str, path: Path | None
) -> Settings:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:  # its message ends "(at line L, column C)"
        raise ConfigError([f"{source}: invalid TOML: {err}"], source) from None
    problems: list[str] = []
    parsed = parse(data, problems)
    secrets = read_secrets(os.environ if env is None else env, require=require_secrets, problems=problems)
    if require_secrets:
        check_slurm_secret(parsed, secrets, problems)
    settings = build(parsed, secrets, path, problems)
    if problems or settings is None:
        raise ConfigError(problems, source)
    return settings
