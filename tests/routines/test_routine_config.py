"""[blog_nudge] and [warnings]: the example's values, absent tables mean off (and the
summary says so), `enabled = false` turns a present table off, wrong values are listed."""

from __future__ import annotations

from datetime import time

import pytest

from idlbot.config import ConfigError, example_config_path, loads

ENV = {"IDLBOT_MATTERMOST_TOKEN": "t" * 26, "IDLBOT_SLASH_TOKEN": "s" * 26}
EXAMPLE = example_config_path().read_text()


def without(text: str, table: str) -> str:
    start = text.index(f"[{table}]")
    return text[:start] + text[text.index("\n[", start + 1) + 1 :]


def test_the_example_turns_both_on_at_their_times() -> None:
    s = loads(EXAMPLE, env=ENV)
    assert (s.blog_nudge.enabled, s.blog_nudge.weekday, s.blog_nudge.at) == (True, 6, time(18, 0))
    w = s.warnings
    assert (w.warn_students, w.send_digest, w.digest_weekday, w.digest_at) == (True, True, 0, time(8, 0))


def test_absent_tables_mean_off_and_the_summary_says_so() -> None:
    s = loads(without(without(EXAMPLE, "blog_nudge"), "warnings"), env=ENV)
    assert not s.blog_nudge.enabled and not s.warnings.warn_students and not s.warnings.send_digest
    assert "[blog_nudge] not set: no weekly learning-blog nudges" in s.summary()
    assert "[warnings] not set: no early qualification warnings" in s.summary()


def test_each_part_can_be_switched_off() -> None:
    text = EXAMPLE.replace('enabled = true\nat = "sun 18:00"', 'enabled = false\nat = "wed 09:30"', 1)
    text = text.replace("students = true", "students = false")
    text = text.replace("digest_enabled = true", "digest_enabled = false")
    s = loads(text, env=ENV)
    assert not s.blog_nudge.enabled and s.blog_nudge.weekday == 2 and s.blog_nudge.at == time(9, 30)
    assert s.warnings.enabled and not s.warnings.warn_students and not s.warnings.send_digest


def test_wrong_values_are_listed_together() -> None:
    text = EXAMPLE.replace('at = "sun 18:00"', 'at = "sunday"').replace('digest = "mon 08:00"', "digest = 8")
    text = text.replace("students = true", 'students = "yes"')
    with pytest.raises(ConfigError) as err:
        loads(text, env=ENV)
    found = err.value.problems
    assert any(p.startswith("blog_nudge.at:") for p in found), found
    assert any(p.startswith("warnings.digest:") for p in found), found
    assert any(p.startswith("warnings.students:") for p in found), found
