"""compose.yaml is a valid Compose file and agrees with the Dockerfile.

Validity: against the Compose Specification's JSON schema (vendored here, see SOURCES.md),
always, and also with `docker compose config -q` where the compose plugin works (it needs no
daemon). So the test runs everywhere and never skips: CI's machine has no compose plugin.

Agreement: the port the bot's service publishes is the one the image exposes and health-checks,
the config is mounted where the image's CMD reads it, and each service's command is one the
`idlbot` CLI accepts, with that same config path. A compose file that drifted from the image
would start a bot that listens or reads somewhere else.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from idlbot.cli import parser
from idlbot.config.environment import SECRET_ENV

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SECRETS = ("IDLBOT_DB_PASSWORD", "IDLBOT_MATTERMOST_TOKEN")
"""What compose.yaml requires (`${VAR:?…}`); filled with dummies to render the file. Not
IDLBOT_SLASH_TOKEN: `setup-mattermost` runs through compose before that token exists."""


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def dockerfile() -> dict[str, list[str]]:
    """The Dockerfile's instructions by keyword (continuation lines joined)."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            found.setdefault(keyword.upper(), []).append(rest.strip())
    return found


def exec_form(value: str) -> list[str]:
    parsed = json.loads(value)
    assert isinstance(parsed, list)
    return [str(v) for v in parsed]


def compose_plugin() -> bool:
    try:
        done = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def spec() -> jsonschema.Draft7Validator:
    """The schema says draft-07 (as `…/draft-07/schema` without the `#`, which jsonschema
    does not recognise, so the draft is named here)."""
    schema = json.loads((HERE / "compose-spec.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_compose_file_matches_the_compose_specification() -> None:
    spec().validate(compose())


def test_the_schema_check_catches_a_wrong_key() -> None:
    """The vendored schema does reject mistakes (it is not an empty `{}` by accident)."""
    broken = compose()
    broken["services"]["bot"]["port"] = ["8080:8080"]
    with pytest.raises(jsonschema.ValidationError):
        spec().validate(broken)


def test_docker_compose_config_accepts_it_where_the_plugin_works() -> None:
    """`docker compose config -q` renders the file (interpolation, anchors, merge keys);
    without the plugin the schema test above is the check, and this one says so."""
    if not compose_plugin():
        # not a skip: the schema test is the check on machines without the plugin
        assert (HERE / "compose-spec.json").is_file()
        return
    env = {**os.environ, **{name: "dummy" for name in SECRETS}}
    done = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_every_secret_reaches_the_bot_from_the_environment() -> None:
    """Each secret the bot reads (config/environment.py) is passed through, and only the
    two needed before `setup-mattermost` are required by compose itself."""
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert set(re.findall(r"\$\{(\w+):\?", text)) == set(SECRETS)
    environment = compose()["services"]["bot"]["environment"]
    assert set(SECRET_ENV.values()) <= set(environment)
    assert compose()["services"]["migrate"]["environment"] == environment


def test_the_bot_service_publishes_the_port_the_image_exposes_and_checks() -> None:
    image = dockerfile()
    exposed = {p.split("/")[0] for line in image["EXPOSE"] for p in line.split()}
    bot = compose()["services"]["bot"]
    targets = {str(p).rsplit(":", 1)[-1] for p in bot["ports"]}
    assert targets == exposed == {"8080"}
    assert any("127.0.0.1:8080/healthz" in line for line in image["HEALTHCHECK"])


def test_every_service_of_the_image_runs_an_idlbot_command_with_the_mounted_config() -> None:
    image = dockerfile()
    assert exec_form(image["ENTRYPOINT"][-1]) == ["idlbot"]
    cmd = exec_form(image["CMD"][-1])
    config_path = cmd[cmd.index("--config") + 1]
    services = compose()["services"]
    built = {name: s for name, s in services.items() if "build" in s}
    assert set(built) == {"migrate", "bot"}
    assert built["bot"]["command"] == cmd  # what the image runs on its own
    for name, service in built.items():
        mounts = [str(v).split(":") for v in service["volumes"]]
        assert [config_path, "ro"] in [m[1:] for m in mounts], f"{name}: config not mounted read-only"
        args = parser().parse_args(service["command"])  # exits (fails the test) on a bad command
        assert args.config == config_path, f"{name}: {shlex.join(service['command'])}"
    assert built["migrate"]["command"][0] == "migrate"
    assert built["bot"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_the_bots_database_password_is_the_databases() -> None:
    services = compose()["services"]
    assert services["bot"]["environment"]["PGPASSWORD"] == services["db"]["environment"]["POSTGRES_PASSWORD"]
    user, db = services["db"]["environment"]["POSTGRES_USER"], services["db"]["environment"]["POSTGRES_DB"]
    compose_text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert f"postgresql+asyncpg://{user}@db:5432/{db}" in compose_text  # the URL the header asks for


def test_the_image_has_a_writable_place_for_a_sqlite_volume() -> None:
    """docs/deploy.md mounts a volume at /var/lib/idlbot for SQLite; a fresh named volume
    takes the ownership of the image's directory, so the image must create it for its user."""
    image = dockerfile()
    assert any("install -d -o idlbot -g idlbot /var/lib/idlbot" in line for line in image["RUN"])
    assert image["USER"] == ["idlbot"]
    assert "/var/lib/idlbot" in (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
