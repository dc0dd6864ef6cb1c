"""The `idlbot` console script: check-config, migrate, run's schema guard, setup-mattermost."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from idlbot.cli import main
from idlbot.config import example_config_path
from idlbot.storage.db import upgrade
from tests.app.conftest import Harness, make_harness
from tests.support.configfile import free_port, set_key, write_config

ENV = {"IDLBOT_MATTERMOST_TOKEN": "t" * 26, "IDLBOT_SLASH_TOKEN": "s" * 26}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "idlbot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env if env is not None else ENV)},
    )


def test_check_config_accepts_the_example() -> None:
    result = run_cli("check-config", str(example_config_path()))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: Introduction to Deep Learning (Winter 2018/19, Europe/Berlin)")
    assert len(result.stdout.strip().splitlines()) == 1


def test_a_reader_that_went_away_gets_no_traceback() -> None:
    """`idlbot say ... | head`: the pipe closes before the CLI writes; it stops quietly."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "idlbot", "check-config", str(example_config_path())],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **ENV},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    with proc.stderr:
        stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and stderr == ""


def test_check_config_names_every_mistake(tmp_path: Path) -> None:
    text = example_config_path().read_text()
    text = set_key(text, "course", "timezone", '"Europe/Berln"')
    text = set_key(text, "server", "port", "80800")
    text = text.replace('url = "https://mattermost.example.org"', "")
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    result = run_cli("check-config", str(bad), env={})
    assert result.returncode == 2
    err = result.stderr
    assert "course.timezone: unknown time zone 'Europe/Berln'" in err
    assert "server.port" in err
    assert "mattermost.url: missing" in err
    assert "env IDLBOT_MATTERMOST_TOKEN: missing" in err
    assert "env IDLBOT_SLASH_TOKEN: missing" in err


def test_run_refuses_an_outdated_schema_and_migrate_fixes_it(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    config = write_config(
        tmp_path / "c.toml",
        mattermost_url="http://127.0.0.1:9",
        database_url=f"sqlite+aiosqlite:///{db}",
        port=free_port(),
    )
    refused = run_cli("run", "--config", str(config))
    assert refused.returncode == 2
    assert f"idlbot migrate --config {config}" in refused.stderr
    migrated = run_cli("migrate", "--config", str(config))
    assert migrated.returncode == 0, migrated.stderr
    assert "newest schema" in migrated.stdout


def test_cli_in_process_reports_config_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.toml"
    bad.write_text("[course]\nname = 1\n")
    assert main(["check-config", str(bad), "--no-secrets"]) == 2
    assert "course.name" in capsys.readouterr().err


async def test_setup_mattermost_creates_then_updates_keeping_the_token(db_url: str, tmp_path: Path) -> None:
    h: Harness = await make_harness(db_url)
    try:
        await upgrade(db_url)
        port = free_port()
        config = write_config(tmp_path / "c.toml", mattermost_url=h.sim.url, database_url=db_url, port=port)
        env = {"IDLBOT_MATTERMOST_TOKEN": h.info["tokens"]["idlbot"]}
        first = await asyncio.to_thread(run_cli, "setup-mattermost", "--config", str(config), env=env)
        assert first.returncode == 0, first.stderr
        assert f"updated /idl in team idl2018 → http://127.0.0.1:{port}/mattermost/command" in first.stdout
        token = h.settings.secrets.slash_token
        assert f"export IDLBOT_SLASH_TOKEN={token}" in first.stdout
        [command] = [c for c in h.sim.state.commands.values() if c["trigger"] == "idl"]
        assert command["auto_complete"] is True
        assert "deadlines" in command["auto_complete_hint"]
        assert command["url"] == f"http://127.0.0.1:{port}/mattermost/command"
        h.sim.state.commands.clear()  # a team without the command: it is created
        created = await asyncio.to_thread(run_cli, "setup-mattermost", "--config", str(config), env=env)
        assert created.returncode == 0, created.stderr
        assert created.stdout.startswith("created /idl in team idl2018")
        assert "export IDLBOT_SLASH_TOKEN=" in created.stdout and token not in created.stdout
        missing = await asyncio.to_thread(run_cli, "setup-mattermost", "--config", str(config), env={})
        assert missing.returncode == 2 and "IDLBOT_MATTERMOST_TOKEN" in missing.stderr
    finally:
        await h.sim.stop()


def test_check_config_names_a_missing_section_and_the_defaults_it_uses(tmp_path: Path) -> None:
    text = example_config_path().read_text()
    start, end = text.index("[qualification]"), text.index("[roles]")
    config = tmp_path / "c.toml"
    config.write_text(text[:start] + text[end:])
    result = run_cli("check-config", str(config))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1
    assert (
        "[qualification] not set: using 80 % of assignments on time, 2 fails to exclusion, "
        "1 blog post, 1 progress report, group paper required" in result.stdout
    )
    assert "[gitlab] not set" not in result.stdout  # present sections are not named


def test_check_config_takes_config_like_every_other_subcommand() -> None:
    """`run`, `migrate` and `roster import` take `--config PATH`; a newcomer types the same
    for `check-config` (it used to say "unrecognized arguments: --config")."""
    path = str(example_config_path())
    ok = run_cli("check-config", "--no-secrets", "--config", path)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: "), ok.stderr
    assert run_cli("check-config", "--no-secrets", path).returncode == 0  # the bare form stays
    none = run_cli("check-config", "--no-secrets")
    assert none.returncode == 2 and none.stderr.count("\n") == 1 and "--config PATH" in none.stderr


def test_roster_import_of_a_missing_file_is_one_line(tmp_path: Path) -> None:
    """It used to print a header and "line 1: cannot read …", as if the file had a line."""
    db = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    mm = "http://127.0.0.1:9"
    config = write_config(tmp_path / "c.toml", mattermost_url=mm, database_url=db, port=8080)
    result = run_cli("roster", "import", "--config", str(config), str(tmp_path / "nosuch.csv"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot read" in result.stderr and "line 1" not in result.stderr
