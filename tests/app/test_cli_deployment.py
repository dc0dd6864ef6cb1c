"""The `idlbot` console script on a deployment of two courses: check-config checks the
whole set, one line per course; a command for one course takes `--course`;
setup-mattermost registers /idl in every course's team."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from idlbot.config import example_deployment_path
from idlbot.devtools.sim.mattermost import MattermostSim
from tests.app.test_cli import run_cli
from tests.support.configfile import free_port, set_key

ENV = {
    "IDLBOT_MATTERMOST_TOKEN": "t" * 26,
    "IDLBOT_SLASH_TOKEN_IDL2018": "i" * 26,
    "IDLBOT_SLASH_TOKEN_ML2019": "m" * 26,
}
ML = "courses/ml2019.toml"


def write_deployment(folder: Path, *, mattermost_url: str = "http://127.0.0.1:9", port: int = 0) -> Path:
    """The example deployment in `folder`, with local endpoints and a database there."""
    example = example_deployment_path()
    shutil.copytree(example.parent / "courses", folder / "courses")
    text = example.read_text()
    port = port or free_port()
    text = set_key(text, "mattermost", "url", f'"{mattermost_url}"')
    text = set_key(text, "server", "port", str(port))
    text = set_key(text, "server", "public_url", f'"http://127.0.0.1:{port}"')
    text = set_key(text, "database", "url", f'"sqlite+aiosqlite:///{folder / "bot.db"}"')
    path = folder / "deploy.toml"
    path.write_text(text)
    return path


def test_check_config_accepts_the_example_deployment_one_line_per_course() -> None:
    result = run_cli("check-config", "--config", str(example_deployment_path()), env=ENV)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("ok: idl2018: Introduction to Deep Learning (Winter 2018/19, Europe/Berlin)")
    assert lines[1].startswith("ok: ml2019: Machine Learning (Summer 2019, Europe/Berlin): 2 assignments")
    assert "Mattermost https://mattermost.example.org/ml2019" in lines[1]


def test_check_config_lists_every_problem_of_the_set_by_file(tmp_path: Path) -> None:
    deploy = write_deployment(tmp_path)
    course = tmp_path / ML
    text = course.read_text().replace('team = "ml2019"', 'team = "idl2018"\nurl = "https://x.example.org"')
    course.write_text(text.replace('project = "stober/ml2019"', 'project = "stober/idl2018"'))
    result = run_cli("check-config", "--config", str(deploy), env={"IDLBOT_MATTERMOST_TOKEN": "t" * 26})
    assert result.returncode == 2 and result.stdout == ""
    err = result.stderr
    assert err.startswith("configuration has 6 problem(s):\n")
    assert f"  {ML}: mattermost.url: belongs in the deployment file deploy.toml\n" in err
    assert f"  {ML}: mattermost.team: Mattermost team 'idl2018' is also courses/idl2018.toml's" in err
    assert f"  {ML}: gitlab.project: GitLab project 'stober/idl2018' is also courses/idl2018.toml's" in err
    assert f"  {ML}: mattermost.channels: 'assignments', " in err
    assert "  env IDLBOT_SLASH_TOKEN_IDL2018: missing (course idl2018's /idl token" in err
    assert "  env IDLBOT_SLASH_TOKEN_ML2019: missing (course ml2019's /idl token" in err
    assert "Traceback" not in err


def test_one_problem_is_one_line_naming_its_file_once(tmp_path: Path) -> None:
    deploy = write_deployment(tmp_path)
    (tmp_path / ML).unlink()
    result = run_cli("check-config", "--no-secrets", "--config", str(deploy))
    assert result.returncode == 2
    assert result.stderr == (
        "idlbot check-config: deploy.toml: deployment.courses[1]: cannot read courses/ml2019.toml "
        "(No such file or directory); check the path (relative to deploy.toml) and that this user "
        "may read it\n"
    )


def test_a_command_for_one_course_needs_course_when_there_are_several(tmp_path: Path) -> None:
    deploy = write_deployment(tmp_path)
    # `run` serves the whole deployment: no --course, it gets as far as the schema guard
    refused = run_cli("run", "--config", str(deploy), env=ENV)
    assert refused.returncode == 2 and f"idlbot migrate --config {deploy}" in refused.stderr
    migrated = run_cli("migrate", "--config", str(deploy))  # deployment-wide: no --course
    assert migrated.returncode == 0, migrated.stderr
    roster = tmp_path / "roster.csv"
    roster.write_text("mattermost_username,gitlab_username,cluster_username,exercise_group,team\n"
                      "alice,alice-gl,alice,g1,lyrics-a\n")  # fmt: skip
    missing = run_cli("roster", "import", str(roster), "--config", str(deploy))
    assert missing.returncode == 2
    assert missing.stderr == (
        f"idlbot roster: {deploy} has 2 courses: say which with --course (idl2018, ml2019)\n"
    )
    unknown = run_cli("roster", "import", str(roster), "--config", str(deploy), "--course", "nlp")
    assert unknown.returncode == 2
    assert (
        unknown.stderr
        == f"idlbot roster: --course nlp: no such course in {deploy} (its courses: idl2018, ml2019)\n"
    )
    # the course's own teams decide: ml2019 has no team lyrics-a, idl2018 has
    ml = run_cli("roster", "import", str(roster), "--config", str(deploy), "--course", "ml2019")
    assert ml.returncode == 2 and "lyrics-a" in ml.stderr
    idl = run_cli("roster", "import", str(roster), "--config", str(deploy), "--course", "idl2018")
    assert idl.returncode == 0, idl.stderr
    assert "1 students: 1 new" in idl.stdout
    # and each course has a roster of its own: alice is new in ml2019 too
    roster.write_text(roster.read_text().replace("lyrics-a", ""))
    ml = run_cli("roster", "import", str(roster), "--config", str(deploy), "--course", "ml2019")
    assert ml.returncode == 0 and "1 students: 1 new" in ml.stdout, ml.stderr
    idl = run_cli("roster", "import", str(roster), "--config", str(deploy), "--course", "idl2018")
    assert idl.returncode == 0 and "1 students: 0 new, 1 updated" in idl.stdout, idl.stderr


async def test_setup_mattermost_registers_idl_in_every_courses_team(tmp_path: Path) -> None:
    sim = MattermostSim()
    bot = sim.add_user("idlbot", is_bot=True)
    teams = {name: sim.add_team(name) for name in ("idl2018", "ml2019")}
    for team in teams.values():
        sim.add_team_member(team["id"], bot["id"], admin=True)
    url = await sim.start()
    try:
        deploy = write_deployment(tmp_path, mattermost_url=url)
        env = {"IDLBOT_MATTERMOST_TOKEN": sim.issue_token(bot["id"])}
        result = await asyncio.to_thread(run_cli, "setup-mattermost", "--config", str(deploy), env=env)
        assert result.returncode == 0, result.stderr
        commands = {c["team_id"]: c for c in sim.state.commands.values() if c["trigger"] == "idl"}
        idl, ml = commands[teams["idl2018"]["id"]], commands[teams["ml2019"]["id"]]
        assert idl["token"] != ml["token"]
        assert result.stdout.splitlines() == [
            f"created /idl in team idl2018 → {idl['url']}",
            f"export IDLBOT_SLASH_TOKEN_IDL2018={idl['token']}",
            f"created /idl in team ml2019 → {ml['url']}",
            f"export IDLBOT_SLASH_TOKEN_ML2019={ml['token']}",
        ]
        one = await asyncio.to_thread(
            run_cli, "setup-mattermost", "--config", str(deploy), "--course", "ml2019", env=env
        )
        assert one.returncode == 0, one.stderr
        assert one.stdout.splitlines() == [
            f"updated /idl in team ml2019 → {ml['url']}",
            f"export IDLBOT_SLASH_TOKEN_ML2019={ml['token']}",
        ]
    finally:
        await sim.stop()
