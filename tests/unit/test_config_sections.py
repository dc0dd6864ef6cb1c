"""config: a bad value in any section is one problem line among the others, never a crash."""

from __future__ import annotations

import dataclasses
import re
from datetime import time, timedelta

import pytest

from idlbot.config import (
    SECRET_ENV,
    ConfigError,
    DatabaseSettings,
    GitLabSettings,
    SlurmSettings,
    example_config_path,
    load,
    loads,
)
from idlbot.domain.course import Rules
from idlbot.domain.settings import AgendaSettings, ReminderSettings

ENV = {"IDLBOT_MATTERMOST_TOKEN": "t" * 26, "IDLBOT_SLASH_TOKEN": "s" * 26}
OTHER = "server.port: must be a whole number from 1 to 65535 (got 0)"  # a second, unrelated mistake


def example_text() -> str:
    return example_config_path().read_text()


def set_line(text: str, line: str, new: str) -> str:
    assert text.count(line) == 1, line
    return text.replace(line, new)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        loads(text, env=ENV)
    return err.value.problems


def with_other_mistake(text: str) -> str:
    return set_line(text, "port = 8080 ", "port = 0 ")


@pytest.mark.parametrize(
    ("line", "new", "expected"),
    [
        (
            "on_time_quota = 0.8 ",
            "on_time_quota = 1.5 ",
            "qualification.on_time_quota: must be a number greater than 0 and at most 1 (got 1.5)",
        ),
        (
            "on_time_quota = 0.8 ",
            'on_time_quota = "eighty" ',
            "qualification.on_time_quota: must be a number greater than 0 and at most 1 (got 'eighty')",
        ),
        (
            "fails_to_exclusion = 2 ",
            'fails_to_exclusion = "two" ',
            "qualification.fails_to_exclusion: must be a whole number from 1 to 100 (got 'two')",
        ),
        (
            "fails_to_exclusion = 2 ",
            "fails_to_exclusion = 0 ",
            "qualification.fails_to_exclusion: must be a whole number from 1 to 100 (got 0)",
        ),
        (
            "group_paper = true ",
            'group_paper = "yes" ',
            "qualification.group_paper: must be true or false (got 'yes')",
        ),
    ],
)
def test_bad_qualification_value_is_listed_with_the_others(line: str, new: str, expected: str) -> None:
    """These used to crash load() with AttributeError and hide every other problem."""
    assert problems(with_other_mistake(set_line(example_text(), line, new))) == [OTHER, expected]


SECTION_MISTAKES = [
    ('url = "sqlite', 'url = "mysql', "database.url: unsupported database URL"),
    (
        "max_workers = 4 ",
        "max_workers = 0 ",
        "gitlab.max_workers: must be a whole number from 1 to 32 (got 0)",
    ),
    ('grace = "30m"', 'grace = "soon"', "reminders.nudges.grace: invalid duration 'soon'"),
    ('offsets = ["6h"]', 'offsets = ["0h"]', "reminders.nudges.offsets: must be positive durations"),
    ("top = 10 ", "top = 0 ", "agenda.top: must be a whole number from 1 to 100 (got 0)"),
    ("all_open = false", 'all_open = "no"', "agenda.all_open: must be true or false (got 'no')"),
    (
        "poll_seconds = 60",
        "poll_seconds = 0",
        "slurm.poll_seconds: must be a number greater than 0 and at most 3600 (got 0)",
    ),
    ("enabled = false", "enabled = 0", "slurm.enabled: must be true or false (got 0)"),
    ('wiki_prefix = "teams/lyrics-a"', "wiki_prefix = 1", "teams[0].wiki_prefix: expected a string, got 1"),
]


@pytest.mark.parametrize(("line", "new", "expected"), SECTION_MISTAKES)
def test_bad_value_in_another_section_is_listed_with_the_others(line: str, new: str, expected: str) -> None:
    text = with_other_mistake(example_text().replace(line, new, 1))
    found = problems(text)
    assert len(found) == 2, found
    assert found[0] == OTHER
    assert found[1].startswith(expected), found


@pytest.mark.parametrize(
    "section", ["database", "qualification", "gitlab", "reminders", "agenda", "slurm", "roles", "mattermost"]
)
def test_a_section_that_is_no_table_is_listed_with_the_others(section: str) -> None:
    renamed = re.sub(rf"^\[{section}([.\]])", rf"[not_{section}\1", example_text(), flags=re.MULTILINE)
    found = problems(with_other_mistake(f"{section} = 5\n{renamed}"))
    assert OTHER in found
    assert f"{section}: expected a table, got 5" in found


def test_reminder_kinds_are_checked_like_any_table() -> None:
    text = example_text().replace("[reminders.nudges]", "[reminders.nudge]")
    text = text.replace("[reminders.exercise]", "[reminders.exercise]\nevery = 2")
    text = text.replace('to = "channel"', 'to = "everyone"')
    text += "\n[reminders.extra]\nevery = 1\n"
    found = problems(text)
    assert "reminders.nudge: unknown key (did you mean 'nudges'?)" in found
    assert "reminders.exercise.every: unknown key" in found
    assert "reminders.exercise.to: invalid target 'everyone' (channel or members)" in found
    assert "reminders.extra: unknown key" in found
    assert len(found) == 4, found


def test_a_reminder_kind_that_is_no_table() -> None:
    text = example_text().replace("[reminders.questions]\n", "[reminders]\nquestions = 1\n[skipped]\n")
    found = problems(text)
    assert "reminders.questions: expected a table, got 1" in found


def test_reminders_without_offsets_or_at() -> None:
    text = example_text().replace('offsets = ["6h"]', "enabled = true", 1)
    text = text.replace('at = "08:00"', "enabled = true", 1)
    assert problems(text) == [
        'reminders.exercise: give `at` (e.g. "08:00") or `offsets`',
        'reminders.nudges.offsets: give at least one, e.g. ["24h", "2h"]',
    ]


def test_agenda_cutoff_and_all_open() -> None:
    text = example_text().replace('cutoff = "tue 12:00"', 'cutoff = "Wednesday 9:30"')
    agenda = loads(text.replace("all_open = false", "all_open = true"), env=ENV).agenda
    assert (agenda.cutoff_weekday, agenda.cutoff_time, agenda.label) == (2, time(9, 30), None)
    assert problems(text.replace('cutoff = "Wednesday 9:30"', 'cutoff = "wed 25:00"')) == [
        "agenda.cutoff: invalid cutoff 'wed 25:00' (use e.g. \"tue 12:00\")"
    ]


def cut(text: str, start: str, end: str | None) -> str:
    """`text` without the part from `start` up to (not including) `end`, or to its end."""
    return text[: text.index(start)] + (text[text.index(end) :] if end is not None else "")


def test_absent_optional_sections_take_the_domain_defaults() -> None:
    text = cut(example_text(), "[reminders.questions]", None)  # reminders, agenda, slurm
    text = cut(cut(text, "[qualification]", "[roles]"), "[database]", "[gitlab]")
    s = loads(text, env=ENV)
    assert (s.course.rules, s.agenda, s.reminders) == (Rules(), AgendaSettings(), ReminderSettings())
    assert (s.slurm, s.database) == (SlurmSettings(), DatabaseSettings())


def test_duplicate_team_ids() -> None:
    text = example_text().replace('id = "lyrics-b"', 'id = "lyrics-a"')
    assert problems(text) == ["teams[1].id: duplicate id 'lyrics-a' (also teams[0])"]


def test_settings_are_plain_dataclasses_validated_only_from_the_file() -> None:
    """Code may build or replace settings freely (tests listen on port 0); only the file
    is checked."""
    s = load(example_config_path(), env=ENV)
    assert s.gitlab == GitLabSettings(
        url="https://code.ovgu.de", project="stober/idl2018", assignments_group="idl2018/assignments"
    )
    assert isinstance(s.gitlab.request_timeout, float)  # `request_timeout = 10` in the file
    assert dataclasses.replace(s.server, port=0).port == 0
    with pytest.raises(TypeError):
        s.mattermost.channels["questions"] = "elsewhere"  # type: ignore[index]


def test_secret_variables() -> None:
    assert dict(SECRET_ENV) == {
        "mattermost_token": "IDLBOT_MATTERMOST_TOKEN",
        "slash_token": "IDLBOT_SLASH_TOKEN",
        "gitlab_token": "IDLBOT_GITLAB_TOKEN",
        "gitlab_webhook_secret": "IDLBOT_GITLAB_WEBHOOK_SECRET",
        "slurm_secret": "IDLBOT_SLURM_SECRET",
    }
    for variable in SECRET_ENV.values():
        assert variable in example_text()  # the example's header documents each one


def test_secret_looking_key_without_a_hint_names_every_variable() -> None:
    found = problems(example_text().replace("[agenda]", '[agenda]\napi_key = "k"'))
    assert found == [
        "agenda.api_key: unknown key; secrets are never read from the file, set the environment variable "
        + " or ".join(SECRET_ENV.values())
        + " instead"
    ]


def test_a_reminder_rule_takes_its_kind_from_the_table_name() -> None:
    s = loads(example_text(), env=ENV)
    assert s.reminders.nudges is not None
    assert (s.reminders.nudges.kind, s.reminders.nudges.grace) == ("nudges", timedelta(minutes=30))
