"""[gitlab], [[teams]], [reminders.*], [agenda], [slurm], [qualification] in the config."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from idlbot.config import ConfigError, example_config_path, load, loads

ENV = {"IDLBOT_MATTERMOST_TOKEN": "t" * 26, "IDLBOT_SLASH_TOKEN": "s" * 26}


def example_text() -> str:
    return example_config_path().read_text()


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        loads(text, env=ENV)
    return err.value.problems


def test_the_example_has_every_feature_section() -> None:
    s = load(example_config_path(), env=ENV)
    assert s.gitlab is not None and s.gitlab.project == "stober/idl2018"
    assert s.gitlab.assignments_group == "idl2018/assignments"
    assert [t.wiki_prefix for t in s.course.teams] == ["teams/lyrics-a", "teams/lyrics-b"]
    q = s.reminders.questions
    assert (
        q is not None and q.offsets == (timedelta(hours=24), timedelta(hours=2)) and q.channel == "questions"
    )
    assert s.reminders.exercise is not None and s.reminders.exercise.at == time(8, 0)
    assert len(s.reminders.rules()) == 4
    assert (s.agenda.cutoff_weekday, s.agenda.cutoff_time, s.agenda.label) == (1, time(12, 0), "question")
    assert s.slurm.enabled is False and s.slurm.cluster == "idl-gpu"
    assert s.course.rules.on_time_quota == 0.8


def test_without_gitlab_section_gitlab_is_off() -> None:
    start = example_text().index("[gitlab]")
    end = example_text().index("# Course-project teams")
    s = loads(example_text()[:start] + example_text()[end:], env=ENV)
    assert s.gitlab is None


def test_feature_mistakes_are_all_reported() -> None:
    text = example_text()
    text = text.replace(
        'offsets = ["24h", "2h"]    # before the Tuesday', 'offsets = ["24 hours"]  # before the Tuesday'
    )
    text = text.replace('cutoff = "tue 12:00"', 'cutoff = "tuesday noon"')
    text = text.replace('channel = "assignments"\ngrace', 'channel = "homework"\ngrace')
    text = text.replace('project = "stober/idl2018"', 'project = "idl2018"')
    found = problems(text)
    assert any(p.startswith("reminders.questions.offsets[0]: invalid duration '24 hours'") for p in found), (
        found
    )
    assert "agenda.cutoff: invalid cutoff 'tuesday noon' (use e.g. \"tue 12:00\")" in found
    assert "reminders.assignments.channel: 'homework' is not a purpose in [mattermost.channels]" in found
    assert any(p.startswith("gitlab.project: invalid GitLab path 'idl2018'") for p in found), found
    assert len(found) == 4, found


def test_durations_combine_units() -> None:
    text = example_text().replace('offsets = ["6h"]', 'offsets = ["1h30m", "2d"]')
    nudges = loads(text, env=ENV).reminders.nudges
    assert nudges is not None and nudges.offsets == (timedelta(minutes=90), timedelta(days=2))


def test_slurm_enabled_needs_the_event_secret() -> None:
    """Without IDLBOT_SLURM_SECRET every MailProg event would be refused: say so at start."""
    text = example_text().replace("enabled = false", "enabled = true", 1)
    assert 'spool_dir = "/var/spool/idlbot-slurm-mail"' in text  # commented out in the example
    found = problems(text.replace("# spool_dir =", "spool_dir ="))
    assert any(p.startswith("env IDLBOT_SLURM_SECRET: missing ([slurm] enabled") for p in found), found
    s = loads(text.replace("# spool_dir =", "spool_dir ="), env={**ENV, "IDLBOT_SLURM_SECRET": "k" * 32})
    assert s.slurm.enabled and s.slurm.spool_dir == "/var/spool/idlbot-slurm-mail"
    assert s.slurm.bin_dir is None  # commented out: the tools on PATH
    moved = loads(
        text.replace('# bin_dir = "/opt', 'bin_dir = "/opt'), env={**ENV, "IDLBOT_SLURM_SECRET": "k"}
    )
    assert moved.slurm.bin_dir == "/opt/slurm/bin"
    assert loads(text, env=ENV, require_secrets=False).slurm.enabled  # check-config of a template
