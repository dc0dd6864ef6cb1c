"""One command registry for slash commands, DMs and @-mentions.

The registry is the single error boundary for commands: it parses the command name,
checks that the ports the command needs are wired and that the user's role may run it,
runs the handler, turns `UserError` into a reply (a `UsageError` into the command's
usage), and turns any other exception into a short reference the user can quote (the
traceback goes to the log, never to chat). Every run is reported to an observer
(metrics, structured logs).

Each command is declared once, with everything said about it: summary, usage, examples
with the first line of their reply, the role it needs and the ports it needs. Help,
"did you mean", the usage shown on a mistake and the contract test all read that one
declaration, so they cannot drift apart.
"""

from __future__ import annotations

import difflib
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from idlbot.commands import usage as grammar
from idlbot.commands.context import Context, Ports
from idlbot.commands.reply import Reply
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import Forbidden, UserError
from idlbot.domain.roles import Role

log = logging.getLogger(__name__)

Handler = Callable[[Context, str], Awaitable[Reply]]
Observer = Callable[[str, str, float], None]


class UsageError(UserError):
    """The arguments do not fit the command. The registry answers with the command's
    usage from its declaration, then `hint` (what exactly was wrong, or an example)."""

    def __init__(self, hint: str = "") -> None:
        super().__init__(hint)
        self.hint = hint


@dataclass(frozen=True)
class ForRole:
    """An example only a higher role than the command's may run (a staff subcommand):
    help shows it to that role and up, and the contract test runs it as that role."""

    role: Role
    reply: str


@dataclass(frozen=True)
class Example:
    """`/idl <text>` and the first line of its reply, as help shows it."""

    text: str
    reply: str
    role: Role


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    usage: str
    examples: tuple[Example, ...]
    handler: Handler
    role: Role = Role.STUDENT
    slow: bool = False
    group: str = ""
    needs: tuple[str, ...] = ()

    def missing(self, ports: Ports) -> list[str]:
        """What the bot lacks to run this command ("GitLab", …), once each; empty if none."""
        labels: list[str] = []
        for name in self.needs:
            slot = Ports.slot(name)
            if slot is not None and not ports.wired(name) and slot.needs not in labels:
                labels.append(slot.needs)
        return labels

    def examples_for(self, role: Role) -> list[Example]:
        return [e for e in self.examples if role >= e.role]

    def surplus(self, args: str) -> list[str]:
        """The words of `args` beyond what the usage takes (see `commands/usage.py`)."""
        return grammar.parse(self.name, self.usage).surplus(args)

    def unquoted_option(self, args: str) -> str | None:
        return grammar.parse(self.name, self.usage).unquoted_option(args)


def for_whom(role: Role) -> str:
    """Who may run something that needs `role`: "tutors and instructors", "instructors"."""
    above = [r for r in Role if r >= role]
    return " and ".join(f"{r.label}s" for r in above)


def role_refusal(name: str, needed: Role, user_role: Role) -> str:
    """The one refusal for a command (or subcommand) above the user's role: it names who
    may run it, never guesses another command."""
    return f"`/idl {name}` is for {for_whom(needed)}; you are {user_role.with_article}."


@dataclass
class CommandGroup:
    """Collects commands of one area; `commands/__init__.py` lists the groups explicitly."""

    title: str
    commands: list[Command] = field(default_factory=list)

    def command(
        self,
        name: str,
        *,
        summary: str,
        usage: str,
        examples: Mapping[str, str | ForRole],
        role: Role = Role.STUDENT,
        slow: bool = False,
        needs: tuple[str, ...] = (),
    ) -> Callable[[Handler], Handler]:
        """Register `handler` as `/idl <name>`. `examples` maps what the user types to the
        first line of the reply; `needs` names the `Ports` the handler reads."""
        shown = tuple(
            Example(text, e.reply, e.role) if isinstance(e, ForRole) else Example(text, e, role)
            for text, e in examples.items()
        )

        def register(handler: Handler) -> Handler:
            self.commands.append(Command(name, summary, usage, shown, handler, role, slow, self.title, needs))
            return handler

        return register


def short_ref() -> str:
    return secrets.token_hex(3)


def split_command(text: str) -> tuple[str, str]:
    """`"/idl help deadlines"`, `"help deadlines"` → `("help", "deadlines")`."""
    stripped = text.strip()
    if stripped.lower().startswith("/idl"):
        stripped = stripped[4:].strip()
    name, _, args = stripped.partition(" ")
    return name.lower(), args.strip()


def _check(command: Command) -> None:
    """A declaration that would mislead help or crash at run time stops the bot's start."""
    unknown = [n for n in command.needs if Ports.slot(n) is None]
    if unknown:
        raise ValueError(f"command {command.name!r} needs unknown ports {unknown}")
    if command.usage.split()[0] != command.name:
        raise ValueError(f"the usage of {command.name!r} must start with its name")
    if command.usage.count("[") != command.usage.count("]"):
        raise ValueError(f"the usage of {command.name!r} has unbalanced brackets")
    if not command.examples or command.examples[0].role != command.role:
        raise ValueError(f"command {command.name!r} needs a first example for {command.role.label}s")
    for example in command.examples:
        if not example.reply.strip() or example.text.split()[0] != command.name:
            raise ValueError(f"example {example.text!r} of {command.name!r}: its reply's first line?")


def not_set_up(command: Command, missing: list[str]) -> str:
    return f"`/idl {command.name}` is not set up on this bot: it needs {' and '.join(missing)}."


class Registry:
    def __init__(self, groups: Iterable[CommandGroup], *, observer: Observer | None = None) -> None:
        self._by_name: dict[str, Command] = {}
        for group in groups:
            for command in group.commands:
                if command.name in self._by_name:
                    raise ValueError(f"command {command.name!r} registered twice")
                _check(command)
                self._by_name[command.name] = command
        self._observer = observer

    def get(self, name: str) -> Command | None:
        return self._by_name.get(name.lower())

    def commands(self) -> list[Command]:
        return list(self._by_name.values())

    def available(self, ctx: Context) -> list[Command]:
        """What this user may run on this bot: their role allows it and its ports are wired."""
        return [c for c in self._by_name.values() if ctx.user.role >= c.role and not c.missing(ctx.ports)]

    def did_you_mean(self, name: str, ctx: Context) -> str:
        names = [c.name for c in self.available(ctx)]
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        unknown = f"I don't know the command “{defuse(name)}”." if name else "Tell me what to do."
        if close:
            options = " or ".join(f"`/idl {n}`" for n in close)
            return f"{unknown} Did you mean {options}? Type `/idl help` for the list."
        return f"{unknown} Type `/idl help` for the list."

    def is_slow(self, text: str) -> bool:
        command = self.get(split_command(text)[0])
        return command is not None and command.slow

    async def run(self, ctx: Context, text: str) -> Reply:
        name, args = split_command(text)
        command = self._by_name.get(name)
        started = ctx.clock.monotonic()
        if command is None:
            outcome, reply = "unknown", Reply.private(self.did_you_mean(name or "", ctx))
        else:
            outcome, reply = await self._run(command, ctx, args)
        elapsed = ctx.clock.monotonic() - started
        label = command.name if command is not None else "unknown"
        log.info(
            "command %s outcome=%s user=%s via=%s %.1fms",
            label,
            outcome,
            ctx.user.id,
            ctx.via,
            elapsed * 1e3,
            extra={"event": "command", "command": label, "outcome": outcome, "ms": round(elapsed * 1e3, 2)},
        )
        if self._observer is not None:
            self._observer(label, outcome, elapsed)
        return reply

    async def _run(self, command: Command, ctx: Context, args: str) -> tuple[str, Reply]:
        missing = command.missing(ctx.ports)
        if missing:
            return "not_set_up", Reply.private(not_set_up(command, missing))
        if ctx.user.role < command.role:
            return "forbidden", Reply.private(role_refusal(command.name, command.role, ctx.user.role))
        extra = command.surplus(args)
        if extra:
            said = defuse(" ".join(extra))
            text = f"Usage: `/idl {command.usage}`. Too many arguments: “{said}” is more than it takes."
            option = command.unquoted_option(args)
            if option:
                text += f' A {option} of several words goes in quotes: `{option} "…"`.'
            return "user_error", Reply.private(text)
        try:
            return "ok", await command.handler(ctx, args)
        except Forbidden as err:
            return "forbidden", Reply.private(str(err))
        except UsageError as err:
            usage = f"Usage: `/idl {command.usage}`."
            return "user_error", Reply.private(f"{usage} {err.hint}" if err.hint else usage)
        except UserError as err:
            return "user_error", Reply.private(str(err))
        except Exception:
            ref = short_ref()
            log.exception("command %s failed ref=%s user=%s", command.name, ref, ctx.user.id)
            broke = f"Something broke on my side (ref {ref}). The staff can look it up."
            return "error", Reply.private(broke)
