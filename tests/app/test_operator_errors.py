"""Operator errors are one line: what is wrong and what to do, exit status 2 for a mistake
in the command line or the configuration, 1 when the environment fails, and no traceback
unless `--debug`. Each test runs the real `idlbot` console script as a subprocess."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from idlbot.config import example_config_path
from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.devtools.sim.mattermost import MattermostSim
from idlbot.storage.db import upgrade_sync
from tests.dbfixtures import _postgres_admin_url
from tests.support.configfile import free_port, set_key, write_config

ENV = {
    "IDLBOT_MATTERMOST_TOKEN": "t" * 26,
    "IDLBOT_SLASH_TOKEN": "s" * 26,
    "IDLBOT_GITLAB_WEBHOOK_SECRET": "w" * 26,
}
"""Every secret `run` wants, so its log has no warning before the one line we look for."""
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there


def idlbot(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "idlbot", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **ENV, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def one_line(result: subprocess.CompletedProcess[str], status: int, *named: str) -> str:
    """The one line on stderr, after checking the exit status and that it names `named`."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == status, (result.returncode, result.stderr)
    for text in named:
        assert text in lines[0], lines[0]
    return lines[0]


def sqlite_config(tmp_path: Path, *, port: int | None = None, migrated: bool = True, **urls: str) -> Path:
    db = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    if migrated:
        upgrade_sync(db)
    return write_config(
        tmp_path / "c.toml",
        mattermost_url=urls.get("mattermost_url", CLOSED),
        gitlab_url=urls.get("gitlab_url"),
        database_url=db,
        port=port if port is not None else free_port(),
    )


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


# ---- ports ---------------------------------------------------------------------------------


def test_run_on_a_port_in_use(tmp_path: Path, taken_port: int) -> None:
    config = sqlite_config(tmp_path, port=taken_port)
    line = one_line(idlbot("run", "--config", str(config)), 1, f"127.0.0.1:{taken_port}", "already in use")
    assert f"[server] port in {config}" in line


def test_demo_on_a_port_in_use(tmp_path: Path, taken_port: int) -> None:
    result = idlbot("demo", "--no-prompt", "--data-dir", str(tmp_path / "d"), "--port", str(taken_port),
                    "--mattermost-port", "0")  # fmt: skip
    one_line(result, 1, f"127.0.0.1:{taken_port}", "already in use", "--port")


def test_demo_with_the_simulators_port_in_use(tmp_path: Path, taken_port: int) -> None:
    result = idlbot("demo", "--no-prompt", "--data-dir", str(tmp_path / "d"), "--port", "0",
                    "--mattermost-port", str(taken_port))  # fmt: skip
    one_line(result, 1, f"127.0.0.1:{taken_port}", "already in use", "--mattermost-port")


def test_demo_with_a_data_dir_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = idlbot("demo", "--no-prompt", "--data-dir", str(tmp_path / "file" / "d"), "--port", "0",
                    "--mattermost-port", "0")  # fmt: skip
    one_line(result, 1, str(tmp_path / "file"), "cannot write")


# ---- the database --------------------------------------------------------------------------


def postgres_config(tmp_path: Path, url: str) -> Path:
    return write_config(tmp_path / "c.toml", mattermost_url=CLOSED, database_url=url, port=free_port())


def postgres_server() -> tuple[str, int]:
    """Host and port of the test PostgreSQL server; skips when none answers."""
    admin = urlsplit(_postgres_admin_url()[0])
    host, port = admin.hostname or "127.0.0.1", admin.port or 5432
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as err:
        pytest.skip(f"no PostgreSQL at {host}:{port}: {err}")
    return host, port


@pytest.mark.parametrize("command", ["migrate", "run"])
def test_postgres_refusing_connections(tmp_path: Path, command: str) -> None:
    port = free_port()  # nothing listens there
    config = postgres_config(tmp_path, f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test")
    result = idlbot(command, "--config", str(config))
    one_line(result, 1, f"PostgreSQL at 127.0.0.1:{port}", "connection refused", "[database] url")


@pytest.mark.parametrize("command", ["migrate", "run"])
def test_postgres_database_missing(tmp_path: Path, command: str) -> None:
    host, port = postgres_server()
    config = postgres_config(tmp_path, f"postgresql+asyncpg://postgres@{host}:{port}/idlbot_no_such_db")
    one_line(idlbot(command, "--config", str(config)), 1, "has no database 'idlbot_no_such_db'", "createdb")


def test_postgres_wrong_user(tmp_path: Path) -> None:
    host, port = postgres_server()
    config = postgres_config(tmp_path, f"postgresql+asyncpg://idlbot_no_such_user@{host}:{port}/test")
    one_line(
        idlbot("migrate", "--config", str(config)), 1, "refused user 'idlbot_no_such_user'", "[database] url"
    )


def test_sqlite_in_a_directory_that_does_not_exist(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'bot.db'}"
    config = write_config(tmp_path / "c.toml", mattermost_url=CLOSED, database_url=url, port=free_port())
    one_line(
        idlbot("migrate", "--config", str(config)),
        1,
        "its directory does not exist",
        str(tmp_path / "missing"),
    )


def test_migrate_on_a_database_of_a_newer_version(tmp_path: Path) -> None:
    config = sqlite_config(tmp_path)
    with sqlite3.connect(tmp_path / "bot.db") as db:
        db.execute("UPDATE alembic_version SET version_num = 'f00dfeed'")
    for command in ("migrate", "run"):
        one_line(idlbot(command, "--config", str(config)), 2, "'f00dfeed'", "newer idlbot")


# ---- GitLab and Mattermost -----------------------------------------------------------------

GITLAB_ENV = {"IDLBOT_GITLAB_TOKEN": "glpat-wrong", "IDLBOT_GITLAB_WEBHOOK_SECRET": "w" * 26}


def test_setup_gitlab_unreachable(tmp_path: Path) -> None:
    config = sqlite_config(tmp_path, gitlab_url=CLOSED)
    one_line(idlbot("setup-gitlab", "--config", str(config), env=GITLAB_ENV), 1, "cannot reach GitLab",
             "[gitlab] url")  # fmt: skip


async def test_setup_gitlab_with_a_wrong_token(tmp_path: Path) -> None:
    async with GitLabSim() as sim:
        sim.add_user("stober")
        sim.add_group("stober")
        sim.add_project("stober/idl2018")
        config = sqlite_config(tmp_path, gitlab_url=sim.url)
        result = await asyncio.to_thread(idlbot, "setup-gitlab", "--config", str(config), env=GITLAB_ENV)
    one_line(result, 1, "GitLab refused the token (401", "IDLBOT_GITLAB_TOKEN")


def test_setup_mattermost_unreachable(tmp_path: Path) -> None:
    config = sqlite_config(tmp_path)
    one_line(idlbot("setup-mattermost", "--config", str(config)), 1, f"cannot reach Mattermost at {CLOSED}",
             "[mattermost] url")  # fmt: skip


async def test_setup_mattermost_with_a_wrong_token(tmp_path: Path) -> None:
    sim = MattermostSim()
    url = await sim.start()
    try:
        config = sqlite_config(tmp_path, mattermost_url=url)
        result = await asyncio.to_thread(idlbot, "setup-mattermost", "--config", str(config))
    finally:
        await sim.stop()
    one_line(result, 1, f"Mattermost at {url} refused the token (401)", "IDLBOT_MATTERMOST_TOKEN")


# ---- the command line and the config file --------------------------------------------------


def test_log_level_in_lower_case(tmp_path: Path) -> None:
    """`--log-level debug` (any level in lower case) crashed in logging.setLevel; now the
    run goes on to the schema check (`warning`, so the log does not fill stderr)."""
    config = sqlite_config(tmp_path, migrated=False)
    result = idlbot("run", "--config", str(config), "--log-level", "warning")
    one_line(result, 2, f"idlbot migrate --config {config}")


def test_pretend_now_that_is_no_instant(tmp_path: Path) -> None:
    config = sqlite_config(tmp_path)
    result = idlbot("run", "--config", str(config), "--pretend-now", "tomorrow")
    one_line(result, 2, "--pretend-now", "'tomorrow'", "YYYY-MM-DDTHH:MM+HH:MM")


@pytest.mark.parametrize("command", [("check-config",), ("migrate", "--config"), ("run", "--config")])
def test_a_config_file_that_cannot_be_read(tmp_path: Path, command: tuple[str, ...]) -> None:
    missing = tmp_path / "nope.toml"
    one_line(idlbot(*command, str(missing)), 2, str(missing), "cannot read (No such file or directory)")
    one_line(idlbot(*command, str(tmp_path)), 2, str(tmp_path), "cannot read (Is a directory)")


def test_a_toml_syntax_error_names_its_line(tmp_path: Path) -> None:
    text = set_key(example_config_path().read_text(), "server", "port", "= 8080")
    line = 1 + text[: text.index("port = = 8080")].count("\n")
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    one_line(idlbot("check-config", str(bad)), 2, str(bad), "invalid TOML", f"at line {line},")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    config = postgres_config(tmp_path, f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/test")
    for args in (
        ("--debug", "migrate", "--config", str(config)),
        ("migrate", "--config", str(config), "--debug"),
    ):
        result = idlbot(*args)
        assert result.returncode == 1
        assert "Traceback" in result.stderr and "DatabaseUnavailable" in result.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("demo", "--port", "99999"), "invalid port '99999' (use 0 to 65535"),
        (("run",), "the following arguments are required: --config"),
        (("run", "--config", "c.toml", "--log-level", "verbose"), "invalid choice: 'VERBOSE'"),
        (("nosuch",), "invalid choice: 'nosuch'"),
    ],
)
def test_a_usage_mistake_is_one_line_pointing_at_help(args: tuple[str, ...], named: str) -> None:
    one_line(idlbot(*args), 2, named, "--help")


def test_run_on_an_address_this_machine_does_not_have(tmp_path: Path) -> None:
    config = sqlite_config(tmp_path)
    config.write_text(set_key(config.read_text(), "server", "host", '"192.0.2.1"'))  # TEST-NET-1
    one_line(idlbot("run", "--config", str(config)), 1, "192.0.2.1", "no such address", "[server] host")


async def test_setup_mattermost_for_a_team_that_does_not_exist(tmp_path: Path) -> None:
    sim = MattermostSim()
    url = await sim.start()
    try:
        token = sim.issue_token(sim.add_user("idlbot", is_bot=True)["id"])
        config = sqlite_config(tmp_path, mattermost_url=url)
        config.write_text(set_key(config.read_text(), "mattermost", "team", '"nosuchteam"'))
        env = {"IDLBOT_MATTERMOST_TOKEN": token}
        result = await asyncio.to_thread(idlbot, "setup-mattermost", "--config", str(config), env=env)
    finally:
        await sim.stop()
    one_line(result, 2, "no team 'nosuchteam'", "[mattermost] team")


async def test_setup_gitlab_for_a_project_that_does_not_exist(tmp_path: Path) -> None:
    async with GitLabSim() as sim:
        sim.add_user("stober")
        env = {**GITLAB_ENV, "IDLBOT_GITLAB_TOKEN": sim.issue_token("stober")}
        config = sqlite_config(tmp_path, gitlab_url=sim.url)
        result = await asyncio.to_thread(idlbot, "setup-gitlab", "--config", str(config), env=env)
    one_line(result, 1, "(404)", "[gitlab] project")
