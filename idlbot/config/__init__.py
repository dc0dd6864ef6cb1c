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
* One file may be a whole deployment, or a deployment file may list one file per course
  (`deployment`); which table and key goes where is written down once (`placement`).
* Pydantic is used inside this package only; the rest of the app gets standard frozen
  dataclasses and domain objects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from idlbot.config.deployment import Deployment, load_deployment
from idlbot.config.environment import SECRET_ENV, Secrets, slash_token_variable
from idlbot.config.errors import ConfigError
from idlbot.config.loading import course_settings, decode
from idlbot.config.placement import DEPLOYMENT_TABLE
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
    "Deployment",
    "GitLabSettings",
    "MattermostSettings",
    "RolesSettings",
    "Secrets",
    "ServerSettings",
    "Settings",
    "SlurmSettings",
    "example_config_path",
    "example_deployment_path",
    "load",
    "load_deployment",
    "loads",
    "slash_token_variable",
]


def load(path: str | Path, env: Mapping[str, str] | None = None, *, require_secrets: bool = True) -> Settings:
    """Read and validate the TOML file at `path`; secrets from `env` (default os.environ).

    A one-course file, or a deployment file of one course. A deployment of several
    courses is a ConfigError naming them: `load_deployment` reads it."""
    return load_deployment(path, env, require_secrets=require_secrets).single


def loads(
    text: str,
    env: Mapping[str, str] | None = None,
    *,
    require_secrets: bool = True,
    source: str = "<string>",
) -> Settings:
    """Validate the TOML text of a one-course file; `source` only names it in the error
    message. A deployment file names its course files by path: `load_deployment` reads it."""
    data = decode(text, source)
    if isinstance(data, str):
        raise ConfigError([data], source)
    if DEPLOYMENT_TABLE in data:
        why = "a deployment file lists its course files by path; read it with load_deployment"
        raise ConfigError([f"{DEPLOYMENT_TABLE}: {why}"], source)
    problems: list[str] = []
    env = os.environ if env is None else env
    settings = course_settings(data, env, require_secrets=require_secrets, path=None, problems=problems)
    if settings is None:
        raise ConfigError(problems, source)
    return settings


def example_config_path() -> Path:
    """The shipped example (the real 2018 course), used by `idlbot demo` and tests.

    It lives in the package (idlbot/data/) so a plain wheel install has it; the
    config.example.toml at the top of the checkout is a symlink to it.
    """
    return Path(__file__).resolve().parent.parent / "data" / "config.example.toml"


def example_deployment_path() -> Path:
    """The shipped two-course deployment (idlbot/data/deployment.example.toml and its
    course files in idlbot/data/courses/)."""
    return Path(__file__).resolve().parent.parent / "data" / "deployment.example.toml"
