"""Reading the arguments of the record commands: quoted words, `--name value` options,
assignment ids. Who may act on which student is `policy.py`'s."""

from __future__ import annotations

import shlex

from idlbot.commands.context import Context
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import UserError


def split_args(args: str) -> list[str]:
    if not args or args.isspace():  # most commands come without arguments
        return []
    try:
        return shlex.split(args)
    except ValueError as err:
        raise UserError(f"Could not read the arguments ({err}); close your quotes.") from None


def take_option(words: list[str], name: str) -> str | None:
    """Remove `--name value` (or `--name=value`) from `words`; return the value."""
    for i, word in enumerate(words):
        if word == f"--{name}":
            if i + 1 >= len(words):
                raise UserError(f'`--{name}` needs a value, e.g. `--{name} "…"`.')
            value = words[i + 1]
            del words[i : i + 2]
            return value
        if word.startswith(f"--{name}="):
            del words[i]
            return word.split("=", 1)[1]
    return None


def assignment_id(ctx: Context, text: str) -> str:
    aid = text.lower()
    if ctx.course.assignment(aid) is None:
        known = ", ".join(a.id for a in ctx.course.assignments)
        raise UserError(f"There is no assignment “{defuse(text)}”. Assignments: {known}.")
    return aid
