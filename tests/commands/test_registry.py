"""The registry: help per role, did-you-mean, role refusals, the error boundary,
and a contract every command must meet (summary, usage, examples that run)."""

from __future__ import annotations

import logging

import pytest

from idlbot.commands.context import Context
from idlbot.commands.registry import CommandGroup, Registry
from idlbot.commands.reply import Reply
from idlbot.domain.roles import Role


async def test_help_lists_only_what_the_role_may_run(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    student = await registry.run(make_ctx("alice"), "help")
    tutor = await registry.run(make_ctx("tutor1", Role.TUTOR), "help")
    assert "/idl deadlines" in student.text and "/idl whoami" in student.text
    assert "/idl health" not in student.text
    assert "/idl health" in tutor.text
    assert student.ephemeral
    for line in student.text.splitlines():
        if line.startswith("- `/idl"):
            assert "Example:" in line, line


async def test_help_for_one_command_shows_usage_and_examples(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    reply = await registry.run(make_ctx(), "help deadlines")
    assert reply.text.startswith("`/idl deadlines [n]`")
    assert "/idl deadlines 3" in reply.text


async def test_help_hides_commands_above_the_role(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    reply = await registry.run(make_ctx(), "help health")
    assert "don't know" in reply.text


async def test_unknown_command_suggests_the_nearest(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    reply = await registry.run(make_ctx(), "deadline")
    assert "Did you mean `/idl deadlines`?" in reply.text
    reply = await registry.run(make_ctx(), "xyzzy")
    assert "I don't know the command `xyzzy`" in reply.text and "/idl help" in reply.text


async def test_command_above_role_is_refused_naming_the_role(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    reply = await registry.run(make_ctx(), "health")
    assert reply.text == "`/idl health` is for tutors; you are a student."


async def test_slash_prefix_and_case_are_accepted(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    reply = await registry.run(make_ctx(), "/idl WHOAMI")
    assert reply.text.startswith("You are @alice, a student.")


async def test_crash_in_a_command_is_contained(make_ctx, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    group = CommandGroup("Broken")

    @group.command("boom", summary="Fails.", usage="boom", examples={"boom": ""})
    async def boom(ctx: Context, args: str) -> Reply:
        raise RuntimeError("secret internals")

    outcomes: list[tuple[str, str]] = []
    registry = Registry([group], observer=lambda name, outcome, _: outcomes.append((name, outcome)))
    with caplog.at_level(logging.ERROR):
        reply = await registry.run(make_ctx(), "boom")
    assert "Something broke on my side (ref " in reply.text
    assert "secret internals" not in reply.text
    assert "secret internals" in caplog.text
    assert outcomes == [("boom", "error")]


async def test_every_command_meets_the_contract(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    """Every command carries its help, and every example runs without crashing."""
    for command in registry.commands():
        assert command.summary.endswith("."), command.name
        assert command.usage.split()[0] == command.name
        assert command.examples, command.name
        username = {Role.STUDENT: "alice", Role.TUTOR: "tutor1", Role.INSTRUCTOR: "sstober"}[command.role]
        ctx = make_ctx(username, command.role)
        for example, expected in command.examples.items():
            reply = await registry.run(ctx, example)
            assert "Something broke" not in reply.text, (example, reply.text)
            if expected:
                assert expected.splitlines()[0] in reply.text, (example, reply.text)
