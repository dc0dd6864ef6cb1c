"""config: every key of the example, given a wrong value, is one listed problem that
names the key and what it accepts, and the other mistakes are still reported."""

from __future__ import annotations

import re

import pytest

from idlbot.config import ConfigError, example_config_path, loads

ENV = {"IDLBOT_MATTERMOST_TOKEN": "t" * 26, "IDLBOT_SLASH_TOKEN": "s" * 26}
OTHER = "course.timezone: unknown time zone 'Europe/Berln'"  # a second, unrelated mistake
MISTAKE = ('timezone = "Europe/Berlin"', 'timezone = "Europe/Berln"')
# for the time zone's own line, the unrelated mistake is another key's
OTHER_FOR_TIMEZONE = "server.port: must be a whole number from 1 to 65535 (got 99999999)"
MISTAKE_FOR_TIMEZONE = ("port = 8080", "port = 99999999")

WRONG = ["{ a = 1 }", '[1, "x"]', "inf", "nan", "-99999999999"]
"""Each is wrong for every key of the example (a name, a date, a number, a list...): a
table or an array where a value belongs, and numbers no key accepts."""


def keys() -> list[tuple[int, str, str]]:
    """(line number, dotted key, line) of every `key = value` line in the example."""
    out, section = [], ""
    for n, line in enumerate(example_config_path().read_text().splitlines()):
        if header := re.match(r"^\[\[?([^\]]+)\]\]?", line):
            section = header[1]
        elif key := re.match(r"^([a-z_]+)\s*=", line):
            out.append((n, f"{section}.{key[1]}", line))
    return out


# one entry per table: [[assignments]] and the like are checked on their first entry
KEYS = list({where: (n, where) for n, where, _ in keys()}.values())


def load_with(line_number: int, value: str, mistake: tuple[str, str] = MISTAKE) -> list[str]:
    lines = example_config_path().read_text().splitlines()
    key = lines[line_number].split("=", 1)[0].strip()
    lines[line_number] = f"{key} = {value}"
    text = "\n".join(lines).replace(*mistake, 1)
    with pytest.raises(ConfigError) as err:
        loads(text, env=ENV)
    return err.value.problems


@pytest.mark.parametrize(("line_number", "where"), KEYS, ids=[w for _, w in KEYS])
def test_a_wrong_value_for_any_key_is_listed_with_the_others(line_number: int, where: str) -> None:
    zone = where == "course.timezone"  # the usual second mistake is this key's: use another
    other, mistake = (OTHER_FOR_TIMEZONE, MISTAKE_FOR_TIMEZONE) if zone else (OTHER, MISTAKE)
    section, _, key = where.rpartition(".")
    for value in WRONG:
        found = load_with(line_number, value, mistake)
        assert other in found, (value, found)
        mine = [p for p in found if p != other and key in p.partition(":")[0]]
        assert mine, (value, found)
        for p in mine:
            # the key, then what it accepts or the format: never pydantic's bare wording
            assert re.match(rf"{re.escape(section.split('.')[0])}[\[.].*{key}", p), p
            assert "input should be" not in p, (value, p)


def test_a_number_out_of_range_names_the_whole_range() -> None:
    [n] = [n for n, where in KEYS if where == "gitlab.reconcile_minutes"]
    assert "gitlab.reconcile_minutes: must be a number greater than 0 and at most 1440 (got 1e+300)" in (
        load_with(n, "1e300")
    )


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("mattermost.resync_window", '"99999999999d"'),
        ("reminders.questions.offsets", '["99999999999d"]'),
        ("reminders.nudges.grace", '"99999999999d"'),
    ],
)
def test_a_duration_too_long_is_listed(where: str, value: str) -> None:
    """These overflowed timedelta and crashed the load with OverflowError."""
    [n] = [n for n, w in KEYS if w == where]
    found = load_with(n, value)
    assert OTHER in found
    assert any(p.startswith(where) and "too long (at most 366d)" in p for p in found), found


def test_one_value_where_a_list_belongs_shows_the_list() -> None:
    [n] = [n for n, where in KEYS if where == "roles.instructors"]
    assert "roles.instructors: must be an array (got 'sstober'; write [\"sstober\"])" in load_with(
        n, '"sstober"'
    )


def test_the_summary_names_every_absent_optional_section_and_its_defaults() -> None:
    text = example_config_path().read_text()
    for start, end in (
        ("[reminders.questions]", None),
        ("[qualification]", "[roles]"),
        ("[database]", "[[teams]]"),
    ):
        text = text[: text.index(start)] + (text[text.index(end) :] if end else "")
    summary = loads(text, env=ENV).summary()
    assert summary.count("\n") == 0
    for note in (
        "[database] not set: using sqlite+aiosqlite:///idlbot.db",
        "[qualification] not set: using 80 % of assignments on time, 2 fails to exclusion, 1 blog post, "
        "1 progress report, group paper required",
        "[gitlab] not set: GitLab features off",
        "[reminders] not set: no reminders",
        "[agenda] not set: using issues labelled 'question', cutoff tue 12:00, top 10, channel questions",
        "[slurm] not set: cluster features off",
    ):
        assert note in summary, (note, summary)
    assert "not set" not in loads(example_config_path().read_text(), env=ENV).summary()
