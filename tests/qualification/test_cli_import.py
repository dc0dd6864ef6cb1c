"""`cli_import`, as the `idlbot roster import` subcommand will call it: summary and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from idlbot.cli import cli_import
from idlbot.config import load
from idlbot.storage.db import upgrade
from tests.support.configfile import write_config


async def test_cli_import_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'idlbot.db'}"
    await upgrade(url)
    cfg = write_config(
        tmp_path / "idlbot.toml", mattermost_url="http://127.0.0.1:1", database_url=url, port=1
    )
    settings = load(cfg, require_secrets=False)
    group = settings.course.groups[0].id
    good = tmp_path / "good.csv"
    good.write_text(
        "mattermost_username,gitlab_username,cluster_username,exercise_group,team\n"
        f"alice,alice,,{group},\nbob,bob,,{group},\n"
    )
    assert cli_import(good, settings) == 0
    assert "2 students: 2 new, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert cli_import(good, settings) == 0
    assert "0 new, 0 updated, 2 unchanged" in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_text("mattermost_username,gitlab\nalice,alice\n")
    assert cli_import(bad, settings) == 2
    err = capsys.readouterr().err
    assert "1 problem(s), nothing imported" in err and "line 1: unknown column(s): 'gitlab'" in err
