"""[summaries]: the session-summary rota's settings, off when absent, every wrong value
listed with the others."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest

from idlbot.config import ConfigError, example_config_path, loads
from idlbot.domain.rota import SummarySettings

ENV = {"IDLBOT_MATTERMOST_TOKEN": "t" * 26, "IDLBOT_SLASH_TOKEN": "s" * 26}


def example() -> str:
    return example_config_path().read_text()


def without_summaries(text: str) -> str:
    return re.sub(r"\n\[summaries\]\n(?:[^\[].*\n|\n)*?(?=\n\[)", "\n", text)


def test_the_example_turns_the_rota_on_with_its_values() -> None:
    s = loads(example(), env=ENV).summaries
    assert s == SummarySettings(True, "announcements", "summaries", timedelta(days=1), time(18, 0), True)


def test_absent_means_off_and_says_so() -> None:
    text = without_summaries(example())
    assert "[summaries]" not in text
    settings = loads(text, env=ENV)
    assert not settings.summaries.enabled
    assert any(d.startswith("[summaries] not set: no session-summary rota") for d in settings.defaults)


def test_enabled_false_is_off() -> None:
    text = example().replace(
        'enabled = true\nchannel = "announcements"', 'enabled = false\nchannel = "announcements"'
    )
    assert not loads(text, env=ENV).summaries.enabled


@pytest.mark.parametrize(
    ("line", "wrong", "says"),
    [
        (
            'announce_before = "1d"',
            'announce_before = "0m"',
            "summaries.announce_before: must be a positive duration",
        ),
        ('announce_before = "1d"', 'announce_before = "8d"', "at most 6d"),
        (
            'wiki_prefix = "summaries"',
            'wiki_prefix = "my summaries"',
            "summaries.wiki_prefix: give a wiki path",
        ),
        ('channel = "announcements"', 'channel = "nowhere"', "summaries.channel: 'nowhere' is not a purpose"),
        ('remind_at = "18:00"', 'remind_at = "25:00"', "summaries.remind_at"),
    ],
)
def test_wrong_values_are_listed_with_the_others(line: str, wrong: str, says: str) -> None:
    text = (
        example()
        .replace(line, wrong, 1)
        .replace('timezone = "Europe/Berlin"', 'timezone = "Europe/Berln"', 1)
    )
    with pytest.raises(ConfigError) as err:
        loads(text, env=ENV)
    assert any(says in p for p in err.value.problems), err.value.problems
    assert "course.timezone: unknown time zone 'Europe/Berln'" in err.value.problems
