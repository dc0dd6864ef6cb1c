"""`idlbot roster import FILE.csv --config PATH`: validated, line-numbered errors, idempotent."""

from __future__ import annotations

from pathlib import Path

from tests.app.test_cli import run_cli
from tests.support.configfile import free_port, write_config

GOOD = """mattermost_username,gitlab_username,cluster_username,exercise_group,team
alice,alice-gl,alice,g1,lyrics-a
bob,bob-gl,bob,g2,lyrics-b
"""


def test_roster_import_is_idempotent_and_names_bad_lines(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    config = write_config(
        tmp_path / "c.toml",
        mattermost_url="http://127.0.0.1:9",
        database_url=f"sqlite+aiosqlite:///{db}",
        port=free_port(),
    )
    assert run_cli("migrate", "--config", str(config)).returncode == 0
    good = tmp_path / "roster.csv"
    good.write_text(GOOD)
    first = run_cli("roster", "import", str(good), "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "2 students: 2 new, 0 updated, 0 unchanged" in first.stdout
    again = run_cli("roster", "import", str(good), "--config", str(config))
    assert again.returncode == 0 and "0 new, 0 updated, 2 unchanged" in again.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD + "carol,carol-gl,carol,g9,lyrics-a\ndave smith,,,g1,\n")
    result = run_cli("roster", "import", str(bad), "--config", str(config))
    assert result.returncode == 2
    assert "line 4" in result.stderr and "g9" in result.stderr
    assert "line 5" in result.stderr
    header = tmp_path / "header.csv"
    header.write_text("mattermost_username,gitlab,exercise_group\nalice,a,g1\n")
    result = run_cli("roster", "import", str(header), "--config", str(config))
    assert result.returncode == 2 and "line 1" in result.stderr
