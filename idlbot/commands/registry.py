"""One command registry for slash commands, DMs and @-mentions.

The registry is the single error boundary for commands: it parses the command name,
checks the role, runs the handler, turns `UserError` into a reply, and turns any other
exception into a short reference the user can quote (the traceback goes to the log,
never to chat). Every run is reported to an observer (metrics, structured logs).
"""

from __future__ import annotations

import difflib
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from idlbot.commands.context import Context
from idlbot.commands.reply import Reply
from idlbot.domain.errors import Forbidden, UserError
from idlbot.domain.roles import Role

log = logging.getLogger(__name__)

Handler = Callable[[Context, str], Awaitable[Reply]]
Observer = Callable[[str, str, float], None]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    usage: str
    examples: dict[str, str]
    handler: Handler
    role: Role = Role.STUDENT
    slow: bool = False
    group: str = ""


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
        examples: dict[str, str],
        role: Role = Role.STUDENT,
        slow: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.commands.append(
                Command(name, summary, usage, examples, handler, role=role, slow=slow, group=self.title)
            )
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


class Registry:
    def __init__(self, groups: Iterable[CommandGroup], *, observer: Observer | None = None) -> None:
        self._by_name: dict[str, Command] = {}
        for group in groups:
            for command in group.commands:
                if command.name in self._by_name:
                    raise ValueError(f"command {command.name!r} registered twice")
                self._by_name[command.name] = command
        self._observer = observer

    def get(self, name: str) -> Command | None:
        return self._by_name.get(name.lower())

    def commands(self) -> list[Command]:
        return list(self._by_name.values())

    def allowed(self, role: Role) -> list[Command]:
        return [c for c in self._by_name.values() if role >= c.role]

    def did_you_mean(self, name: str, role: Role) -> str:
        names = [c.name for c in self.allowed(role)]
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        unknown = f"I don't know the command `{name}`." if name else "Tell me what to do."
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
        outcome = "ok"
        if command is None:
            outcome = "unknown"
            reply = Reply.private(self.did_you_mean(name or "", ctx.user.role))
        elif ctx.user.role < command.role:
            outcome = "forbidden"
            reply = Reply.private(
                f"`/idl {command.name}` is for {command.role.label}s; you are {ctx.user.role.with_article}."
            )
        else:
            try:
                reply = await command.handler(ctx, args)
            except Forbidden as err:
                outcome = "forbidden"
                reply = Reply.private(str(err))
            except UserError as err:
                outcome = "user_error"
                reply = Reply.private(str(err))
            except Exception:
                outcome = "error"
                ref = short_ref()
                log.exception("command %s failed ref=%s user=%s", name, ref, ctx.user.id)
                reply = Reply.private(f"Something broke on my side (ref {ref}). The staff can look it up.")
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
