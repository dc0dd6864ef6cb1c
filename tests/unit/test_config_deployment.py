"""config: a deployment file with one file per course, and the old one-course file as a
deployment of one course. Each kind of mistake is one line naming its file; all of
them are listed at once."""

from __future__ import annotations

import dataclasses
import re
import shutil
from dataclasses import fields
from pathlib import Path

import pytest

from idlbot.config import (
    ConfigError,
    example_config_path,
    example_deployment_path,
    load,
    load_deployment,
    loads,
    slash_token_variable,
)
from idlbot.config.placement import COURSE_TABLES, SHARED_KEYS, SHARED_TABLES
from idlbot.config.schema import SECTIONS
from idlbot.domain.course import DEFAULT_COURSE_ID

ENV = {
    "IDLBOT_MATTERMOST_TOKEN": "t" * 26,
    "IDLBOT_SLASH_TOKEN_IDL2018": "idl-token",
    "IDLBOT_SLASH_TOKEN_ML2019": "ml-token",
}
ONE = {"IDLBOT_MATTERMOST_TOKEN": "t" * 26, "IDLBOT_SLASH_TOKEN": "s" * 26}
IDL, ML = "courses/idl2018.toml", "courses/ml2019.toml"
OWN_TOKEN = "/idl token: each team's command has its own"


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    """A copy of the example deployment (deploy.toml and courses/), for a test to edit."""
    example = example_deployment_path()
    shutil.copytree(example.parent / "courses", tmp_path / "courses")
    target = tmp_path / "deploy.toml"
    shutil.copy(example, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_deployment(path, ENV if env is None else env)
    return err.value.problems


# ---- loading -------------------------------------------------------------------------


def test_the_example_deployment_has_two_complete_courses() -> None:
    d = load_deployment(example_deployment_path(), ENV)
    assert d.ids == ("idl2018", "ml2019") and d.source == str(example_deployment_path())
    idl, ml = d.courses
    assert (idl.mattermost.team, ml.mattermost.team) == ("idl2018", "ml2019")
    assert idl.gitlab is not None and ml.gitlab is not None
    assert (idl.gitlab.project, ml.gitlab.project) == ("stober/idl2018", "stober/ml2019")
    # the shared tables are the deployment's, the same in every course
    assert idl.server == ml.server and idl.database == ml.database and idl.slurm == ml.slurm
    assert idl.mattermost.url == ml.mattermost.url == "https://mattermost.example.org"
    assert idl.gitlab.url == ml.gitlab.url and idl.gitlab.max_workers == ml.gitlab.max_workers
    assert ml.course.name == "Machine Learning" and len(ml.course.assignments) == 2
    assert ml.roles.tutors == ("tutor4",)  # the group's tutor, as a one-course file does it
    assert idl.path == example_deployment_path().parent / IDL
    assert d.by_id("ml2019") is ml and d.by_id("nope") is None
    assert d.by_team("ML2019") is ml and d.by_team("other") is None
    assert d.first is idl


def test_the_example_course_is_the_one_course_example() -> None:
    """The first course file is config.example.toml's course: same settings, own id."""
    idl = load_deployment(example_deployment_path(), ENV).courses[0]
    one = load(example_config_path(), ONE)
    assert idl.course.id == "idl2018" and one.course.id == DEFAULT_COURSE_ID
    same = dataclasses.replace(
        idl, course=dataclasses.replace(idl.course, id=DEFAULT_COURSE_ID), secrets=one.secrets, path=one.path
    )
    assert same == one


def test_the_old_format_is_a_deployment_of_one_course_main() -> None:
    d = load_deployment(example_config_path(), ONE)
    assert d.ids == (DEFAULT_COURSE_ID,)
    assert d.single == load(example_config_path(), ONE)
    assert d.single.secrets.slash_token == "s" * 26
    assert d.slash_variable("main") == "IDLBOT_SLASH_TOKEN"


def test_the_old_format_may_name_its_course() -> None:
    text = example_config_path().read_text().replace("[course]\n", '[course]\nid = "idl"\n', 1)
    assert loads(text, ONE).course.id == "idl"
    bad = text.replace('id = "idl"', 'id = "IDL 2018"')
    with pytest.raises(ConfigError) as err:
        loads(bad, ONE)
    assert err.value.problems == [
        "course.id: invalid course id 'IDL 2018' (a lowercase letter, then up to 31 lowercase "
        "letters, digits, '-' or '_', e.g. idl2018)"
    ]


def test_a_deployment_of_one_course_keeps_idlbot_slash_token(deployment: Path) -> None:
    edit(deployment, f'courses = ["{IDL}", "{ML}"]', f'courses = ["{ML}"]')
    d = load_deployment(deployment, ONE)
    assert d.ids == ("ml2019",) and d.single.secrets.slash_token == "s" * 26
    assert load(deployment, ONE).course.id == "ml2019"  # load() takes a one-course deployment


def test_each_course_of_several_has_its_own_slash_token() -> None:
    idl, ml = load_deployment(example_deployment_path(), ENV).courses
    assert (idl.secrets.slash_token, ml.secrets.slash_token) == ("idl-token", "ml-token")
    assert idl.secrets.mattermost_token == ml.secrets.mattermost_token == "t" * 26
    assert slash_token_variable("ml-2019", several=True) == "IDLBOT_SLASH_TOKEN_ML_2019"


def test_every_missing_slash_token_is_listed_and_the_single_one_is_not_used() -> None:
    env = {"IDLBOT_MATTERMOST_TOKEN": "t" * 26, "IDLBOT_SLASH_TOKEN": "s" * 26}
    assert problems(example_deployment_path(), env) == [
        f"env IDLBOT_SLASH_TOKEN_IDL2018: missing (course idl2018's {OWN_TOKEN})",
        f"env IDLBOT_SLASH_TOKEN_ML2019: missing (course ml2019's {OWN_TOKEN})",
    ]
    assert load_deployment(example_deployment_path(), {}, require_secrets=False).ids == ("idl2018", "ml2019")


def test_load_refuses_several_courses_and_loads_refuses_a_deployment() -> None:
    with pytest.raises(ConfigError) as err:
        load(example_deployment_path(), ENV)
    assert err.value.problems == ["deployment.courses: 2 courses (idl2018, ml2019); this needs one"]
    with pytest.raises(ConfigError) as err:
        loads('[deployment]\ncourses = ["a.toml"]\n', ENV)
    assert "read it with load_deployment" in err.value.problems[0]


# ---- one test per kind of mistake ----------------------------------------------------


def test_a_shared_key_in_a_course_file(deployment: Path) -> None:
    edit(deployment.parent / ML, 'team = "ml2019"', 'team = "ml2019"\nurl = "https://mm.example.org"')
    edit(deployment.parent / ML, "[roles]", "[server]\nport = 8081\n\n[roles]")
    assert problems(deployment) == [  # in the file's order
        f"{ML}: server: belongs in the deployment file deploy.toml",
        f"{ML}: mattermost.url: belongs in the deployment file deploy.toml",
    ]


def test_a_course_key_in_the_deployment_file(deployment: Path) -> None:
    edit(deployment, 'url = "https://code.ovgu.de"', 'url = "https://code.ovgu.de"\nproject = "a/b"')
    edit(deployment, "[server]", '[roles]\ninstructors = ["x"]\n\n[server]')
    assert problems(deployment) == [
        "deploy.toml: roles: belongs in each course's file",
        "deploy.toml: gitlab.project: belongs in each course's file",
    ]


def test_a_missing_course_file_is_one_line_naming_it(deployment: Path) -> None:
    edit(deployment, f'"{ML}"', '"courses/nlp.toml"')
    assert problems(deployment) == [
        "deploy.toml: deployment.courses[1]: cannot read courses/nlp.toml (No such file or directory); "
        "check the path (relative to deploy.toml) and that this user may read it"
    ]


def test_a_course_file_that_is_not_toml(deployment: Path) -> None:
    (deployment.parent / ML).write_text("[course\n")
    [line] = problems(deployment)
    assert line.startswith(f"{ML}: invalid TOML: ")


def test_a_course_files_own_mistakes_name_it(deployment: Path) -> None:
    edit(deployment.parent / ML, 'timezone = "Europe/Berlin"', 'timezone = "Europe/Berln"')
    edit(deployment.parent / ML, "[roles]", "[rols]")
    assert problems(deployment) == [
        f"{ML}: rols: unknown key (did you mean 'roles'?)",
        f"{ML}: course.timezone: unknown time zone 'Europe/Berln'",
        f"{ML}: roles: missing section [roles]",
    ]


def test_a_shared_tables_mistake_is_the_deployment_files_and_listed_once(deployment: Path) -> None:
    edit(deployment, "port = 8080", "port = 99999999")
    edit(deployment, 'url = "https://mattermost.example.org"', 'url = "mattermost.example.org"')
    found = problems(deployment)
    assert len(found) == 2 and all(line.startswith("deploy.toml: ") for line in found)
    assert found[0].startswith("deploy.toml: mattermost.url: invalid URL 'mattermost.example.org'")
    assert found[1] == "deploy.toml: server.port: must be a whole number from 1 to 65535 (got 99999999)"


def test_unknown_keys_are_named_in_their_file(deployment: Path) -> None:
    edit(deployment, "[server]", "[sevrer]\n\n[server]")
    edit(deployment, "request_timeout = 10.0", "request_timout = 10.0")
    edit(deployment.parent / ML, 'team = "ml2019"', 'team = "ml2019"\ntoken = "abc"')
    assert problems(deployment) == [
        "deploy.toml: sevrer: unknown key (did you mean 'server'?)",
        "deploy.toml: mattermost.request_timout: unknown key (did you mean 'request_timeout'?)",
        f"{ML}: mattermost.token: unknown key; secrets are never read from the file, "
        "set the environment variable IDLBOT_MATTERMOST_TOKEN instead",
    ]


def test_a_course_file_must_give_its_id(deployment: Path) -> None:
    edit(deployment.parent / ML, 'id = "ml2019"', "")
    assert problems(deployment) == [
        f'{ML}: course.id: missing (each course of a deployment has one, e.g. id = "idl")',
    ]


def test_the_deployment_table_is_checked(deployment: Path) -> None:
    edit(deployment, f'courses = ["{IDL}", "{ML}"]', f'courses = ["{IDL}", "./{IDL}", 3]\nmode = "x"')
    assert problems(deployment) == [
        "deploy.toml: deployment.mode: unknown key",
        f"deploy.toml: deployment.courses[1]: './{IDL}' is listed twice (also deployment.courses[0])",
        "deploy.toml: deployment.courses[2]: must be a file name (got 3)",
        # one course is left, so its token is the one-course variable
        "env IDLBOT_SLASH_TOKEN: missing",
    ]
    edit(deployment, f'["{IDL}", "./{IDL}", 3]', "[]")
    assert problems(deployment)[1].startswith(
        "deploy.toml: deployment.courses: give at least one course file"
    )


def test_a_course_with_gitlab_needs_the_deployments_gitlab_url(deployment: Path) -> None:
    text = deployment.read_text()
    start, end = text.index("[gitlab]"), text.index("[slurm]")
    deployment.write_text(text[:start] + text[end:])
    assert problems(deployment) == ["deploy.toml: gitlab.url: missing"]


def test_a_course_without_gitlab_has_gitlab_off(deployment: Path) -> None:
    text = (deployment.parent / ML).read_text()
    start, end = text.index("[gitlab]"), text.index("[reminders.assignments]")
    (deployment.parent / ML).write_text(text[:start] + text[end:])
    idl, ml = load_deployment(deployment, ENV).courses
    assert idl.gitlab is not None and ml.gitlab is None


# ---- across courses ------------------------------------------------------------------


def test_duplicate_course_ids(deployment: Path) -> None:
    edit(deployment.parent / ML, 'id = "ml2019"', 'id = "idl2018"')
    assert f"{ML}: course.id: course id 'idl2018' is also {IDL}'s" in problems(deployment)


def test_duplicate_teams(deployment: Path) -> None:
    edit(deployment.parent / ML, 'team = "ml2019"', 'team = "idl2018"')
    assert problems(deployment) == [
        f"{ML}: mattermost.team: Mattermost team 'idl2018' is also {IDL}'s "
        "(a slash command's team picks the course)",
        f"{ML}: mattermost.channels: 'assignments', 'cluster', 'exercise-group-1', 'questions', "
        f"'town-square' in team 'idl2018' are also {IDL}'s (a channel belongs to one course)",
    ]


def test_the_same_channel_names_in_other_teams_are_fine() -> None:
    idl, ml = load_deployment(example_deployment_path(), ENV).courses
    assert idl.mattermost.channel("questions") == ml.mattermost.channel("questions") == "questions"


def test_duplicate_projects_and_assignments_groups(deployment: Path) -> None:
    edit(deployment.parent / ML, 'project = "stober/ml2019"', 'project = "Stober/IDL2018"')
    edit(deployment.parent / ML, '"ml2019/assignments"', '"idl2018/assignments"')
    assert problems(deployment) == [
        f"{ML}: gitlab.project: GitLab project 'stober/idl2018' is also {IDL}'s "
        "(GitLab hooks are routed to a course by project)",
        f"{ML}: gitlab.assignments_group: assignments group 'idl2018/assignments' is also {IDL}'s "
        "(hand-ins are routed to a course by repository)",
    ]


def test_an_assignments_group_inside_another_courses(deployment: Path) -> None:
    edit(deployment.parent / ML, '"ml2019/assignments"', '"idl2018/assignments/ml"')
    assert problems(deployment) == [
        f"{ML}: gitlab.assignments_group: 'idl2018/assignments/ml' is inside {IDL}'s assignments group "
        "'idl2018/assignments' (hand-ins are routed to a course by repository)",
    ]


def test_ids_that_would_share_a_token_variable(deployment: Path) -> None:
    edit(deployment.parent / IDL, 'id = "idl2018"', 'id = "ml-2019"')
    edit(deployment.parent / ML, 'id = "ml2019"', 'id = "ml_2019"')
    env = {"IDLBOT_MATTERMOST_TOKEN": "t", "IDLBOT_SLASH_TOKEN_ML_2019": "x"}
    assert problems(deployment, env) == [
        f"{ML}: course.id: 'ml_2019' would read its /idl token from IDLBOT_SLASH_TOKEN_ML_2019, as "
        f"'ml-2019' of {IDL} does; choose ids that differ in more than '-' and '_'",
    ]


def test_every_mistake_of_every_file_is_listed_at_once(deployment: Path) -> None:
    edit(deployment, "port = 8080", "port = 0")
    edit(deployment, "[server]", '[[assignments]]\nid = "x"\n\n[server]')
    edit(deployment, f'"{ML}"]', f'"{ML}", "courses/gone.toml"]')
    edit(deployment.parent / IDL, 'timezone = "Europe/Berlin"', 'timezone = "Mars/Olympus"')
    edit(deployment.parent / ML, 'team = "ml2019"', 'team = "idl2018"\nping_interval = 5')
    edit(deployment.parent / ML, 'id = "ml2019"', 'id = "idl2018"')
    found = problems(deployment, {})
    assert found == [
        "deploy.toml: deployment.courses[2]: cannot read courses/gone.toml (No such file or directory); "
        "check the path (relative to deploy.toml) and that this user may read it",
        "deploy.toml: assignments: belongs in each course's file",
        "deploy.toml: server.port: must be a whole number from 1 to 65535 (got 0)",
        f"{IDL}: course.timezone: unknown time zone 'Mars/Olympus'",
        f"{ML}: mattermost.ping_interval: belongs in the deployment file deploy.toml",
        f"{ML}: course.id: course id 'idl2018' is also {IDL}'s",
        f"{ML}: mattermost.team: Mattermost team 'idl2018' is also {IDL}'s "
        "(a slash command's team picks the course)",
        f"{ML}: mattermost.channels: 'assignments', 'cluster', 'exercise-group-1', 'questions', "
        f"'town-square' in team 'idl2018' are also {IDL}'s (a channel belongs to one course)",
        "env IDLBOT_MATTERMOST_TOKEN: missing",
        f"env IDLBOT_SLASH_TOKEN_IDL2018: missing (course idl2018's {OWN_TOKEN})",
    ]
    with pytest.raises(ConfigError) as err:
        load_deployment(deployment, {})
    assert err.value.located and str(err.value).startswith(
        f"{deployment}: {len(found)} configuration problems:"
    )


# ---- the split, written down once ----------------------------------------------------


def test_every_table_and_shared_key_has_one_place() -> None:
    assert COURSE_TABLES | SHARED_TABLES | SHARED_KEYS.keys() == set(SECTIONS)
    assert not COURSE_TABLES & SHARED_TABLES
    for table, keys in SHARED_KEYS.items():
        names = {f.name for f in fields(SECTIONS[table].schema)}
        assert keys < names, table  # each split table keeps keys for the courses
    assert {"team", "channels"} == {f.name for f in fields(SECTIONS["mattermost"].schema)} - SHARED_KEYS[
        "mattermost"
    ]


def test_the_readme_table_shows_the_split_as_written_down() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Several courses in one deployment", 1)[1].split("\n## ", 1)[0]
    for table, keys in SHARED_KEYS.items():
        [row] = [line for line in section.splitlines() if line.startswith(f"| `[{table}]`")]
        shared_cell = row.split("|")[1]
        assert set(re.findall(r"`([a-z_]+)`", shared_cell)) == keys, table
    rows = "\n".join(line for line in section.splitlines() if line.startswith("| "))
    for table in COURSE_TABLES - {"course"}:
        assert f"[{table}" in rows, table
    for table in SHARED_TABLES:
        assert f"`[{table}]`" in rows, table
