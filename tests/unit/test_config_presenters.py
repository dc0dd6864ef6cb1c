"""[presenters] in the config: on in the example, off when absent (and said so), the rule
lands on the course's rules, and every mistake is listed with the others."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from idlbot.config import ConfigError, example_config_path, load, loads

ENV = {"IDLBOT_MATTERMOST_TOKEN": "t" * 26, "IDLBOT_SLASH_TOKEN": "s" * 26}
TABLE = """[presenters]
# The team presenter rota"""


def example() -> str:
    return example_config_path().read_text()


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        loads(text, env=ENV)
    return err.value.problems


def without_table(text: str) -> str:
    start = text.index("[presenters]")
    return text[:start] + text[text.index("[agenda]") :]


def test_the_example_has_the_rota_on_and_the_rule_off() -> None:
    s = load(example_config_path(), env=ENV)
    assert (s.presenters.enabled, s.presenters.propose_before, s.presenters.rule) == (
        True,
        timedelta(days=2),
        False,
    )
    assert s.course.rules.presenting is False
    assert s.presenters.start == date(2018, 10, 24)


def test_absent_means_off_and_the_summary_says_so() -> None:
    s = loads(without_table(example()), env=ENV)
    assert s.presenters.enabled is False and s.course.rules.presenting is False
    assert "[presenters] not set: no presenter rota, and presenting is not an exam rule" in s.defaults


def test_the_rule_is_a_course_rule_unless_the_rota_is_off() -> None:
    on = loads(example().replace("rule = false ", "rule = true  ", 1), env=ENV)
    assert on.course.rules.presenting is True and on.presenters.rule is True
    off = (
        example()
        .replace("rule = false ", "rule = true  ", 1)
        .replace("enabled = true             # false (or no", "enabled = false            # false (or no", 1)
    )
    assert loads(off, env=ENV).course.rules.presenting is False


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('propose_before = "0h"', "presenters.propose_before: must be more than 0 and less than 7d"),
        ('propose_before = "7d"', "presenters.propose_before: must be more than 0 and less than 7d"),
        ('propose_before = "soon"', "presenters.propose_before: invalid duration"),
        ("rule = 1", "presenters.rule"),
        ('enabled = "yes"', "presenters.enabled"),
        ('start = "soon"', "presenters.start: invalid date"),
    ],
)
def test_wrong_values_are_listed_with_the_others(line: str, expected: str) -> None:
    key = line.split(" =")[0]
    lines = example().splitlines()
    at = next(
        i
        for i, ln in enumerate(lines)
        if ln.startswith(key + " ") and i > example()[: example().index("[presenters]")].count("\n")
    )
    lines[at] = line
    text = "\n".join(lines).replace('timezone = "Europe/Berlin"', 'timezone = "Europe/Berln"', 1)
    found = problems(text)
    assert any(p.startswith(expected) for p in found), found
    assert any(p.startswith("course.timezone") for p in found), found


def test_the_rota_needs_the_weekly_class() -> None:
    text = example()
    start = text.index("[classes]")
    text = text[:start] + text[text.index("# Weekly programming assignments") :]
    assert "presenters: needs [classes] (the presenters are proposed for each class)" in problems(text)


async def test_no_proposal_before_the_first_class_with_presentations() -> None:
    from idlbot.domain.schedule import class_meetings
    from idlbot.services.presenters import PresenterRoutine

    s = load(example_config_path(), env=ENV)
    routine = PresenterRoutine(None, None, None, s.course, s.presenters)  # type: ignore[arg-type]
    days = [o.ref for o in routine.plan(s.course)]
    classes = [m.day.isoformat() for m in class_meetings(s.course)]
    assert days[0] == "2018-10-24" and days == [d for d in classes if d >= "2018-10-24"]


def test_a_start_outside_the_course_is_refused() -> None:
    text = example().replace("start = 2018-10-24 ", "start = 2019-03-01 ", 1)
    assert "presenters.start: 2019-03-01 is outside the course (2018-10-10 to 2019-02-08)" in problems(text)
