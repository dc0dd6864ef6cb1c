"""`help`: only what the asking user's role may run on this bot, with usage and one
example each. A command above the role, or one this bot is not set up for, is not listed:
help shows what works, not what would be refused. Asked about such a command by name,
help says who may run it (or what the bot lacks), as running it would."""

from __future__ import annotations

from collections.abc import Callable

from idlbot.commands.context import Context
from idlbot.commands.registry import (
    Command,
    CommandGroup,
    Example,
    Registry,
    for_whom,
    not_set_up,
    role_refusal,
)
from idlbot.commands.reply import Reply
from idlbot.domain.errors import Forbidden, UserError
from idlbot.domain.roles import Role


def _example(example: Example) -> str:
    return f"`/idl {example.text}` → {example.reply.splitlines()[0]}"


def _one(command: Command, ctx: Context) -> str:
    lines = [f"`/idl {command.usage}`: {command.summary}", "", "Examples:"]
    lines.extend(f"- {_example(e)}" for e in command.examples_for(ctx.user.role))
    if command.role > Role.STUDENT:
        lines.append(f"\nFor {for_whom(command.role)}.")
    return "\n".join(lines)


def help_group(registry: Callable[[], Registry]) -> CommandGroup:
    """The help command needs the finished registry, so it gets it lazily."""
    group = CommandGroup("Help")

    @group.command(
        "help",
        summary="What I can do for you, or how one command works.",
        usage="help [command]",
        examples={
            "help": "Commands you can use as a student (also work by DM to me):",
            "help deadlines": "`/idl deadlines [all] [n]`: The next deadlines and your exercise sessions",
        },
    )
    async def help_(ctx: Context, args: str) -> Reply:
        reg = registry()
        if args:
            name = args.split()[0].lower().removeprefix("/idl").strip() or args.split()[0].lower()
            command = reg.get(name)
            if command is None:
                raise UserError(reg.did_you_mean(name, ctx))
            if ctx.user.role < command.role:  # named, not hidden: "did you mean" would mislead
                raise Forbidden(role_refusal(command.name, command.role, ctx.user.role))
            missing = command.missing(ctx.ports)
            if missing:
                raise UserError(not_set_up(command, missing))
            return Reply.private(_one(command, ctx))
        lines = [f"Commands you can use as {ctx.user.role.with_article} (also work by DM to me):"]
        current = ""
        for command in reg.available(ctx):
            if command.group != current:
                current = command.group
                lines.append(f"\n**{current}**")
            example = _example(command.examples_for(ctx.user.role)[0])
            lines.append(f"- `/idl {command.usage}`: {command.summary} Example: {example}")
        lines.append("\n`/idl help <command>` shows more about one command.")
        return Reply.private("\n".join(lines))

    return group
