"""The example course's settings, as the reminder tests load them, but with presentations
from the first class: these tests walk the early weeks of the term, and the example's
`[presenters] start` (24 Oct) would leave the first two classes out."""

from dataclasses import replace

import pytest

from idlbot.config import Settings, load
from tests.reminders.conftest import ENV, ROOT


@pytest.fixture(scope="session")
def settings() -> Settings:
    loaded = load(ROOT / "config.example.toml", env=ENV)
    course = loaded.course
    return replace(loaded, course=replace(course, rules=replace(course.rules, presenting_from=None)))
