"""Every example in the help is true. Each one runs through the registry as the role it is
shown to (the command's, or the staff role of a subcommand), at Monday 22 October 2018,
09:00 Berlin, on every port wired to a fresh in-memory fake of the 2018 course
(`tests/support/fakes.py`), and the reply's first line must begin with the line the help
promises. Run again with only the ports the command declares in `needs`, the reply is the
same, so a command cannot use a port the registry does not check."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from idlbot.clock import FakeClock
from idlbot.commands import build_registry
from idlbot.commands.context import Context, Ports, User
from idlbot.commands.registry import Command, Example
from idlbot.config import Settings, load
from idlbot.domain.roles import Role
from tests.commands.conftest import ENV
from tests.support.fakes import NOW, fake_ports

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = build_registry()
EXAMPLES = [(c, e) for c in REGISTRY.commands() for e in c.examples]
USERS = {Role.STUDENT: "alice", Role.TUTOR: "tutor1", Role.INSTRUCTOR: "sstober"}


@pytest.fixture(scope="module")
def course_settings() -> Settings:
    return load(ROOT / "config.example.toml", env=ENV)


def _ctx(settings: Settings, role: Role, ports: Ports) -> Context:
    user = User(id=f"id-{USERS[role]}", username=USERS[role], role=role, tz=ZoneInfo("Europe/Berlin"))
    return Context(user=user, channel_id="chan1", via="slash", clock=FakeClock(NOW),
                   course=settings.course, ports=ports, instructors=settings.roles.instructors)  # fmt: skip


def _full(settings: Settings) -> Ports:
    return fake_ports(settings.course, settings.agenda, dict(settings.mattermost.channels))


async def _first_line(settings: Settings, example: Example, ports: Ports) -> str:
    reply = await REGISTRY.run(_ctx(settings, example.role, ports), example.text)
    return reply.text.splitlines()[0]


@pytest.mark.parametrize(("command", "example"), EXAMPLES, ids=[e.text for _, e in EXAMPLES])
async def test_the_example_replies_as_the_help_says(
    command: Command, example: Example, course_settings: Settings
) -> None:
    assert (await _first_line(course_settings, example, _full(course_settings))).startswith(example.reply)


@pytest.mark.parametrize(("command", "example"), EXAMPLES, ids=[e.text for _, e in EXAMPLES])
async def test_the_example_needs_only_the_declared_ports(
    command: Command, example: Example, course_settings: Settings
) -> None:
    full = _full(course_settings)
    declared = Ports(**{name: getattr(full, name) for name in command.needs})
    assert (await _first_line(course_settings, example, declared)).startswith(example.reply)


def test_every_command_has_examples_for_every_role_that_runs_it() -> None:
    assert len(EXAMPLES) >= 2 * len(REGISTRY.commands()) - 3
    assert all(c.examples[0].role is c.role for c in REGISTRY.commands())
