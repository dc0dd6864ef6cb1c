"""config: the example file loads, and every mistake is reported at once."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path

import pytest

from idlbot.config import ConfigError, Settings, example_config_path, load, loads
from idlbot.domain.course import Rules
from idlbot.domain.roles import Role
from tests.unit.course_2018 import berlin, course_2018

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
ENV = {"IDLBOT_MATTERMOST_TOKEN": "mm-secret-123", "IDLBOT_SLASH_TOKEN": "slash-secret-456"}

MINIMAL = """
[course]
name = "Introduction to Deep Learning"
term = "Winter 2018/19"
timezone = "Europe/Berlin"
start = 2018-10-10
end = 2019-02-08

[questions]
weekday = "Tuesday"
time = "12:00"
url = "https://code.ovgu.de/stober/idl2018/issues"

[[assignments]]
id = "a01"
title = "Assignment 1"
release = 2018-10-10T17:00:00
due = "2018-10-16 23:59"

[[exercise_groups]]
id = "g1"
name = "Exercise group 1"
weekday = "THU"
start = "13:00"
end = "15:00"
room = "G29-K058"
first_session = 2018-10-18
tutors = ["Tutor1"]
channel = "group1"

[roles]
instructors = ["sstober"]

[mattermost]
url = "https://mattermost.example.org/"
team = "idl2018"

[mattermost.channels]
town_square = "town-square"
assignments = "assignments"
questions = "questions"
cluster = "cluster"
group1 = "exercise-group-1"

[server]
public_url = "https://idlbot.example.org"
"""


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        loads(text, ENV if env is None else env)
    return caught.value.problems


def test_example_loads_and_matches_the_2018_course() -> None:
    settings = load(EXAMPLE, ENV)
    course = settings.course
    assert [(g.id, g.weekday, g.start, g.end, g.room, g.first_session) for g in course.groups] == [
        ("g1", 3, time(13), time(15), "G29-K058", date(2018, 10, 18)),
        ("g2", 4, time(11), time(13), "G29-335", date(2018, 10, 19)),
        ("g3", 0, time(11), time(13), "G29-E037", date(2018, 10, 22)),
    ]
    assert [g.channel for g in course.groups] == ["exercise-group-1", "exercise-group-2", "exercise-group-3"]
    assert (course.questions.weekday, course.questions.at) == (1, time(12))
    assert course.questions_url == "https://code.ovgu.de/stober/idl2018/issues"
    assert [a.id for a in course.assignments] == [f"a0{n}" for n in range(1, 9)]
    assert course.assignments == course_2018().assignments
    assert course.lecture_free == course_2018().lecture_free
    assert course.is_lecture_free(date(2018, 12, 25)) is not None
    assert course.rules == Rules(presenting_from=date(2018, 10, 24))  # [presenters] start
    assert course.classes == course_2018().classes
    assert settings.roles.instructors == ("sstober", "jens")
    assert settings.roles.tutors == ("tutor1", "tutor2", "tutor3")
    assert settings.mattermost.channel("announcements") == "town-square"
    assert settings.path == EXAMPLE
    assert settings.summary() == (
        "Introduction to Deep Learning (Winter 2018/19, Europe/Berlin): 8 assignments, 3 exercise groups, "
        "1 lecture-free period; Mattermost https://mattermost.example.org/idl2018; "
        "database sqlite+aiosqlite:///idlbot.db"
    )


def test_example_config_path_finds_the_example() -> None:
    assert example_config_path().resolve() == EXAMPLE.resolve()


def test_minimal_config_defaults_and_normalisation() -> None:
    settings = loads(MINIMAL, ENV)
    assert isinstance(settings, Settings)
    assert settings.mattermost.url == "https://mattermost.example.org"
    assert (settings.mattermost.request_timeout, settings.mattermost.ping_interval) == (10.0, 30.0)
    assert settings.mattermost.watchdog_timeout == 60.0
    assert settings.mattermost.resync_window == timedelta(hours=24)
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8080)
    assert settings.database.url == "sqlite+aiosqlite:///idlbot.db"
    assert settings.roles.tutors == ("tutor1",)
    assert settings.roles.role("TUTOR1") is Role.TUTOR
    assert settings.roles.role("SStober") is Role.INSTRUCTOR
    assert settings.course.questions.name == "Questions"
    a01 = settings.course.assignments[0]
    assert (a01.release, a01.due) == (berlin(2018, 10, 10, 17), berlin(2018, 10, 16, 23, 59))


def test_three_mistakes_are_all_reported() -> None:
    text = (
        MINIMAL.replace('"Europe/Berlin"', '"Europe/Berln"')
        .replace('end = "15:00"', 'end = "12:00"')
        .replace(
            'public_url = "https://idlbot.example.org"', 'public_url = "https://idlbot.example.org"\nprot = 1'
        )
    )
    assert problems(text) == [
        "course.timezone: unknown time zone 'Europe/Berln'",
        "server.prot: unknown key (did you mean 'port'?)",
        "exercise_groups[0].end: 12:00 is not after start (13:00)",
    ]


def test_error_message_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        loads(MINIMAL.replace('"Europe/Berlin"', '"Nowhere"'), {}, source="idl.toml")
    message = str(caught.value)
    assert message.startswith("idl.toml: 3 configuration problems:")
    assert "env IDLBOT_MATTERMOST_TOKEN: missing" in message
    assert "env IDLBOT_SLASH_TOKEN: missing" in message


def test_unknown_keys_everywhere() -> None:
    text = MINIMAL.replace("[server]", "[server]\nprot = 8081") + '\n[gitlb]\nurl = "x"\n'
    text = text.replace('room = "G29-K058"', 'room = "G29-K058"\ncapacity = 30')
    found = problems(text)
    assert "server.prot: unknown key (did you mean 'port'?)" in found
    assert any(p.startswith("gitlb: unknown key") for p in found)
    assert "exercise_groups[0].capacity: unknown key" in found


def test_missing_section_and_missing_key() -> None:
    text = MINIMAL.replace("[roles]", "[not_roles]").replace('team = "idl2018"\n', "")
    found = problems(text)
    assert "roles: missing section [roles]" in found
    assert "mattermost.team: missing" in found
    assert any(p.startswith("not_roles: unknown key") for p in found)


def test_bad_timezone_message() -> None:
    assert problems(MINIMAL.replace('"Europe/Berlin"', '"Europe/Berln"')) == [
        "course.timezone: unknown time zone 'Europe/Berln'"
    ]


def test_bad_dates_times_and_weekdays_name_the_format() -> None:
    text = (
        MINIMAL.replace('due = "2018-10-16 23:59"', 'due = "2018-13-01 12:00"')
        .replace('start = "13:00"', 'start = "1pm"')
        .replace('weekday = "THU"', 'weekday = "thurs"')
        .replace("first_session = 2018-10-18", 'first_session = "18.10.2018"')
    )
    assert problems(text) == [
        "assignments[0].due: invalid datetime '2018-13-01 12:00' (use YYYY-MM-DD HH:MM)",
        "exercise_groups[0].weekday: invalid weekday 'thurs' (use mon..sun or monday..sunday)",
        "exercise_groups[0].start: invalid time '1pm' (use HH:MM)",
        "exercise_groups[0].first_session: invalid date '18.10.2018' (use YYYY-MM-DD)",
    ]


def test_cross_field_checks() -> None:
    text = (
        MINIMAL.replace('due = "2018-10-16 23:59"', 'due = "2018-10-09 23:59"')
        .replace("first_session = 2018-10-18", "first_session = 2018-10-19")
        .replace('channel = "group1"', 'channel = "group-one"')
        .replace("end = 2019-02-08", "end = 2019-02-08\n")
        + """
[[assignments]]
id = "a01"
title = "Again"
release = 2018-10-17T17:00:00
due = 2018-10-23T23:59:00

[[lecture_free]]
name = "Christmas"
start = 2019-01-06
end = 2018-12-22
"""
    )
    assert problems(text) == [
        "assignments[1].id: duplicate id 'a01' (also assignments[0])",
        "assignments[0].due: 2018-10-09 23:59 is not after release (2018-10-10 17:00)",
        "exercise_groups[0].first_session: 2018-10-19 is a Friday, but weekday is Thursday",
        "exercise_groups[0].channel: 'group-one' is neither a purpose nor a channel name "
        "in [mattermost.channels]",
        "lecture_free[0].end: 2018-12-22 is before start (2019-01-06)",
    ]


def test_required_channel_purposes() -> None:
    text = MINIMAL.replace('cluster = "cluster"\n', "")
    assert problems(text) == [
        "mattermost.channels.cluster: missing (required: town_square, assignments, questions, cluster)"
    ]


def test_group_channel_may_be_a_channel_name() -> None:
    settings = loads(MINIMAL.replace('channel = "group1"', 'channel = "exercise-group-1"'), ENV)
    assert settings.course.groups[0].channel == "exercise-group-1"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("[server]", "[server]\nport = 0", "server.port: must be a whole number from 1 to 65535 (got 0)"),
        (
            "[server]",
            '[server]\nport = "8080"',
            "server.port: must be a whole number from 1 to 65535 (got '8080')",
        ),
        (
            'url = "https://mattermost.example.org/"',
            'url = "mattermost.example.org"',
            "mattermost.url: invalid URL 'mattermost.example.org' "
            "(use http(s)://host[:port], without a path)",
        ),
        (
            'instructors = ["sstober"]',
            'instructors = ["@sstober"]',
            "roles.instructors[0]: invalid username '@sstober' (Mattermost username, without '@')",
        ),
        (
            'instructors = ["sstober"]',
            "instructors = []",
            "roles.instructors: at least one instructor is required",
        ),
        (
            "[server]",
            '[database]\nurl = "mysql://x"\n[server]',
            "database.url: unsupported database URL (must start with sqlite+aiosqlite:// or postgresql+asyncpg://)",
        ),
    ],
)
def test_value_checks(old: str, new: str, expected: str) -> None:
    assert problems(MINIMAL.replace(old, new, 1)) == [expected]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"90m"', None),
        ('"7d"', None),
        ('"8d"', "mattermost.resync_window: must be a positive duration of at most 7d"),
        ('"0h"', "mattermost.resync_window: must be a positive duration of at most 7d"),
        ('"soon"', "mattermost.resync_window: invalid duration 'soon' (use e.g. 24h, 90m, 2d, 1h30m)"),
    ],
)
def test_resync_window(value: str, expected: str | None) -> None:
    url = 'url = "https://mattermost.example.org/"'
    text = MINIMAL.replace(url, f"{url}\nresync_window = {value}", 1)
    if expected is None:
        settings = loads(text, ENV)
        assert isinstance(settings, Settings) and settings.mattermost.resync_window > timedelta(0)
    else:
        assert problems(text) == [expected]


def test_toml_syntax_error_is_one_problem_with_position() -> None:
    found = problems("[course]\nname = \n")
    assert len(found) == 1
    assert found[0].startswith("<string>: invalid TOML:")
    assert "line 2" in found[0]


def test_both_datetime_forms_mean_course_wall_clock() -> None:
    toml_form = loads(MINIMAL, ENV).course.assignments[0]
    string_form = loads(MINIMAL.replace("release = 2018-10-10T17:00:00", 'release = "2018-10-10 17:00"'), ENV)
    assert string_form.course.assignments[0] == toml_form


def test_secrets_come_from_env_only_and_never_show() -> None:
    env = {**ENV, "IDLBOT_GITLAB_TOKEN": "gl-secret-789"}
    settings = loads(MINIMAL, env)
    assert settings.secrets.mattermost_token == "mm-secret-123"
    assert settings.secrets.gitlab_token == "gl-secret-789"
    assert settings.secrets.slurm_secret is None
    for shown in (repr(settings), str(settings), repr(settings.secrets), settings.summary()):
        for secret in env.values():
            assert secret not in shown
    assert "mattermost_token=<set>" in repr(settings.secrets)


def test_secret_in_file_is_rejected_and_names_the_variable() -> None:
    text = MINIMAL.replace("[server]", '[server]\nslash_token = "file-secret"') + (
        '\n[gitlab]\nurl = "https://git.example.org"\nproject = "a/b"\nassignments_group = "a/c"\n'
        'token = "gl"\n'
    )
    found = problems(text)
    assert (
        "server.slash_token: unknown key; secrets are never read from the file, "
        "set the environment variable IDLBOT_SLASH_TOKEN instead"
    ) in found
    assert any(p.startswith("gitlab.token: unknown key") and "IDLBOT_GITLAB_TOKEN" in p for p in found)
    assert not any("file-secret" in p for p in found)


def test_password_in_database_url_is_rejected() -> None:
    text = MINIMAL.replace(
        "[server]", '[database]\nurl = "postgresql+asyncpg://idl:hunter2@db/idl"\n[server]'
    )
    (found,) = problems(text)
    assert found.startswith("database.url: contains a password")
    assert "hunter2" not in found


def test_required_secrets() -> None:
    assert problems(MINIMAL, {}) == [
        "env IDLBOT_MATTERMOST_TOKEN: missing",
        "env IDLBOT_SLASH_TOKEN: missing",
    ]
    assert problems(MINIMAL, {"IDLBOT_MATTERMOST_TOKEN": " ", "IDLBOT_SLASH_TOKEN": "x"}) == [
        "env IDLBOT_MATTERMOST_TOKEN: missing"
    ]
    assert loads(MINIMAL, {}, require_secrets=False).secrets.mattermost_token is None


def test_load_reads_files_and_reports_unreadable_ones(tmp_path: Path) -> None:
    path = tmp_path / "idlbot.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load(path, ENV).path == path
    with pytest.raises(ConfigError) as caught:
        load(tmp_path / "missing.toml", ENV)
    (problem,) = caught.value.problems
    assert "cannot read" in problem


def test_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert loads(MINIMAL).secrets.slash_token == "slash-secret-456"


def test_a_class_that_ends_before_it_starts_is_listed() -> None:
    text = EXAMPLE.read_text().replace('end = "14:45"', 'end = "12:00"')
    with pytest.raises(ConfigError) as err:
        loads(text, ENV)
    assert "classes.end: 12:00 is not after start (13:15)" in str(err.value)
