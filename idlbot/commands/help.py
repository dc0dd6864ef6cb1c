"""`help`: only what the asking user's role may run, with usage and one example each."""

from __future__ import annotations

from collections.abc import Callable

from idlbot.commands.context import Context
from idlbot.commands.registry import Command, CommandGroup, Registry
from idlbot.commands.reply import Reply
from idlbot.domain.errors import UserError
from idlbot.domain.roles import Role


def _example(command: Command) -> str:
    text, result = next(iter(command.examples.items()))
    first_line = result.splitlines()[0] if result else ""
    return f"`/idl {text}`" + (f" → {first_line}" if first_line else "")


def help_group(registry: Callable[[], Registry]) -> CommandGroup:
    """The help command needs the finished registry, so it gets it lazily."""
    group = CommandGroup("Help")

    @group.command(
        "help",
        summary="What I can do for you, or how one command works.",
        usage="help [command]",
        examples={"help": "Commands you can use:", "help deadlines": "`/idl deadlines [n]`"},
    )
    async def help_(ctx: Context, args: str) -> Reply:
        reg = registry()
        if args:
            name = args.split()[0].lower().removeprefix("/idl").strip() or args.split()[0].lower()
            command = reg.get(name)
            if command is None or ctx.user.role < command.role:
                raise UserError(reg.did_you_mean(name, ctx.user.role))
            lines = [f"`/idl {command.usage}`: {command.summary}", "", "Examples:"]
            for text, result in command.examples.items():
                lines.append(f"- `/idl {text}`" + (f" → {result.splitlines()[0]}" if result else ""))
            if command.role > Role.STUDENT:
                lines.append(f"\nFor {command.role.label}s and above.")
            return Reply.private("\n".join(lines))
        lines = [f"Commands you can use as {ctx.user.role.with_article} (also work by DM to me):"]
        current = ""
        for command in reg.allowed(ctx.user.role):
            if command.group != current:
                current = command.group
                lines.append(f"\n**{current}**")
            lines.append(f"- `/idl {command.usage}`: {command.summary} Example: {_example(command)}")
        lines.append("\n`/idl help <command>` shows more about one command.")
        return Reply.private("\n".join(lines))

    return group
