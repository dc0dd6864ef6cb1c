"""The registry: help per role, did-you-mean, role refusals, the error boundary,
and a contract every command must meet (summary, usage, examples that run)."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from idlbot.commands.context import Context, Ports
from idlbot.commands.help import help_group
from idlbot.commands.registry import CommandGroup, ForRole, Registry, UsageError
from idlbot.commands.reply import Reply
from idlbot.commands.usage import parse
from idlbot.domain.defuse import defuse
from idlbot.domain.roles import Role
from tests.support.fakes_features import FakeJobs


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
    assert reply.text.startswith("`/idl deadlines [all] [n]`")
    assert "/idl deadlines 3" in reply.text


async def test_help_for_a_command_above_the_role_names_who_may_run_it(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    """Not "I don't know `record`. Did you mean `/idl remind`?": the command exists."""
    for text in ("help health", "help record", "help RECORD"):
        reply = await registry.run(make_ctx(), text)
        assert "Did you mean" not in reply.text and "don't know" not in reply.text
    assert (await registry.run(make_ctx(), "help record")).text == (
        "`/idl record` is for tutors and instructors; you are a student."
    )
    assert (await registry.run(make_ctx("tutor1", Role.TUTOR), "help export")).text == (
        "`/idl export` is for instructors; you are a tutor."
    )


async def test_did_you_mean_never_suggests_a_command_above_the_role(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    for typo in ("recrd", "exprt", "helth", "overveiw", "rostr"):
        for text in (typo, f"help {typo}"):
            reply = await registry.run(make_ctx(), text)
            assert "don't know" in reply.text
            for staff_only in ("record", "export", "health", "overview", "roster"):
                assert f"/idl {staff_only}`" not in reply.text, (text, reply.text)


async def test_extra_arguments_are_refused_with_the_usage(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    staff = make_ctx("sstober", Role.INSTRUCTOR)
    for ctx, text, usage, extra in (
        (make_ctx(), "status @alice @bob", "status [@student]", "@bob"),
        (make_ctx(), "whoami please", "whoami", "please"),
        (make_ctx(), "help status now", "help [command]", "now"),
        (make_ctx(), "deadlines all 3 4", "deadlines [all] [n]", "4"),
        (staff, "export all", "export", "all"),
        (staff, "overview g1 g2", "overview [group]", "g2"),
        (staff, "audit @alice a01 a02", "audit [@student] [assignment]", "a02"),
        (staff, "audit @alice @bob", "audit [@student] [assignment]", "@bob"),
        (staff, 'record a01 @alice excused --reason "sick" --force', "record <assignment>", "--force"),
    ):
        reply = await registry.run(ctx, text)
        assert reply.text.startswith(f"Usage: `/idl {usage}"), (text, reply.text)
        assert f"“{defuse(extra)}”" in reply.text and "too many" in reply.text.lower(), (text, reply.text)


async def test_an_unquoted_reason_of_several_words_is_told_to_quote(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    """A tutor types `--reason sick note`: the usage alone does not say what went wrong."""
    staff = make_ctx("sstober", Role.INSTRUCTOR)
    reply = await registry.run(staff, "record a01 @alice excused --reason sick note")
    assert "Too many arguments: “note”" in reply.text
    assert 'A --reason of several words goes in quotes: `--reason "…"`.' in reply.text
    plain = await registry.run(staff, "export all")
    assert "quotes" not in plain.text


async def test_free_text_may_start_with_a_subcommand_word(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    announce = registry.get("announce")
    assert announce is not None
    assert announce.surplus("cancel today's session, sorry") == []
    assert announce.surplus('--at "fri 16:00" --yes list of rooms for today') == []
    assert parse("x", "x list | x add <when> <text>").surplus("list all") == ["all"]


async def test_an_unclosed_quote_is_told_as_such_not_as_too_many_arguments(
    registry: Registry, make_ctx
) -> None:  # type: ignore[no-untyped-def]
    reply = await registry.run(
        make_ctx("sstober", Role.INSTRUCTOR), "record a01 @alice late --reason it's ill"
    )
    assert reply.text.startswith("Could not read the arguments") and "close your quotes" in reply.text
    assert (await registry.run(make_ctx(), "whoami it's me")).text.startswith("Usage: `/idl whoami`.")


async def test_unknown_command_suggests_the_nearest(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    reply = await registry.run(make_ctx(), "deadline")
    assert "Did you mean `/idl deadlines`?" in reply.text
    reply = await registry.run(make_ctx(), "xyzzy")
    assert "I don't know the command “xyzzy”" in reply.text and "/idl help" in reply.text


async def test_command_above_role_is_refused_naming_the_role(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    reply = await registry.run(make_ctx(), "health")
    assert reply.text == "`/idl health` is for tutors and instructors; you are a student."


async def test_slash_prefix_and_case_are_accepted(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    reply = await registry.run(make_ctx(), "/idl WHOAMI")
    assert reply.text.startswith("You are @alice, a student.")


async def test_crash_in_a_command_is_contained(make_ctx, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    group = CommandGroup("Broken")

    @group.command("boom", summary="Fails.", usage="boom", examples={"boom": "Boom."})
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


def _needy() -> CommandGroup:
    group = CommandGroup("Cluster")

    @group.command(
        "gpus", summary="Free GPUs.", usage="gpus [n]", examples={"gpus": "4 free."}, needs=("jobs",)
    )
    async def gpus(ctx: Context, args: str) -> Reply:
        if args:
            raise UsageError("`n` is a number.")
        return Reply.private(f"{len(await ctx.ports.jobs.my_jobs('al123', since=ctx.clock.now()))} free.")

    @group.command("gpu-help", summary="GPUs.", usage="gpu-help", examples={"gpu-help": "Ask."})
    async def sloppy(ctx: Context, args: str) -> Reply:
        # reads a port it did not declare in needs=
        return Reply.private(str(await ctx.ports.jobs.notify_mode("al123")))

    return group


async def test_a_command_whose_ports_are_not_wired_is_hidden_and_refused_once(make_ctx) -> None:  # type: ignore[no-untyped-def]
    registry = Registry([help_group(lambda: registry), _needy()])
    ctx = make_ctx()  # this bot has no Slurm: `ports.jobs` is not wired
    assert "gpus" not in (await registry.run(ctx, "help")).text
    suggested = (await registry.run(ctx, "gpu")).text
    assert "`/idl gpu-help`" in suggested and "`/idl gpus`" not in suggested
    refused = await registry.run(ctx, "gpus")
    assert refused.text == "`/idl gpus` is not set up on this bot: it needs Slurm."
    assert (await registry.run(ctx, "help gpus")).text == refused.text


async def test_reading_an_undeclared_port_is_a_bug_not_a_silent_none(make_ctx, caplog) -> None:  # type: ignore[no-untyped-def]
    registry = Registry([_needy()])
    with caplog.at_level(logging.ERROR):
        reply = await registry.run(make_ctx(), "gpu-help")
    assert "Something broke" in reply.text
    assert "ports.jobs is not wired; declare needs=('jobs',)" in caplog.text


async def test_a_usage_error_shows_the_declared_usage(make_ctx) -> None:  # type: ignore[no-untyped-def]
    registry = Registry([_needy()])
    ctx = replace(make_ctx(), ports=Ports(jobs=FakeJobs()))
    reply = await registry.run(ctx, "gpus x")
    assert reply.text == "Usage: `/idl gpus [n]`. `n` is a number."


def test_declarations_are_checked_when_the_registry_is_built() -> None:
    def one(**kw: object) -> CommandGroup:
        group = CommandGroup("Bad")
        group.command("x", summary="X.", usage=str(kw.pop("usage", "x")), **kw)(_noop)  # type: ignore[arg-type]
        return group

    with pytest.raises(ValueError, match="unknown ports"):
        Registry([one(examples={"x": "X."}, needs=("gitlab",))])
    with pytest.raises(ValueError, match="its reply's first line"):
        Registry([one(examples={"x": ""})])
    with pytest.raises(ValueError, match="must start with its name"):
        Registry([one(usage="y", examples={"x": "X."})])
    with pytest.raises(ValueError, match="first example for students"):
        Registry([one(examples={"x": ForRole(Role.TUTOR, "X.")})])


async def _noop(ctx: Context, args: str) -> Reply:
    return Reply.private("")


async def test_help_shows_each_role_the_examples_it_may_run(registry: Registry, make_ctx) -> None:  # type: ignore[no-untyped-def]
    student = (await registry.run(make_ctx("alice"), "help remind")).text
    tutor = (await registry.run(make_ctx("tutor1", Role.TUTOR), "help remind")).text
    assert "`/idl remind off` → Personal reminders are off." in student
    assert "`/idl remind list` →" not in student
    assert "`/idl remind list` → Next 3 reminders (times in Europe/Berlin):" in tutor


async def test_every_command_meets_the_contract(registry: Registry) -> None:
    """Every command carries its help; what its examples say is checked in test_examples.py."""
    for command in registry.commands():
        assert command.summary.endswith("."), command.name
        assert command.usage.split()[0] == command.name
        assert command.examples and all(e.reply for e in command.examples), command.name
