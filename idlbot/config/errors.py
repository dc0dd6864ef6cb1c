"""`ConfigError` and the wording of every problem line ("dotted.key: message").

One place phrases problems, so a pydantic error, one of our parsers' errors and an
unknown key all read alike, and no message ever prints a table or an array: a value
someone put in the wrong place may be a token.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from datetime import date, time
from difflib import get_close_matches
from typing import Annotated, Union, get_args, get_origin, get_type_hints

from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from idlbot.config.environment import looks_secret, secret_variable


class ConfigError(Exception):
    """The configuration cannot be used. `problems` lists every reason found, each as
    "dotted.key: message"; only the CLI decides to exit (with status 2). `located`: each
    line already starts with the file it is in (a deployment of several files)."""

    def __init__(self, problems: list[str], source: str = "<config>", *, located: bool = False) -> None:
        self.problems = list(problems)
        self.source = source
        self.located = located
        count = len(self.problems)
        head = f"{source}: {count} configuration problem{'s' if count != 1 else ''}"
        super().__init__("\n  - ".join([head + ":", *self.problems]))


def problem(message: str) -> PydanticCustomError:
    """A parser's complaint, raised inside pydantic and listed as "key: message"."""
    # The message goes in the context, not the template: user input may contain braces.
    return PydanticCustomError("idlbot", "{problem}", {"problem": message})


def show(value: object) -> str:
    """A value for a message. Tables and arrays are named, not printed: they may hold
    a token someone put in the wrong place."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def unknown_key(where: str, value: object, known: list[str]) -> str:
    """Message for an unknown key; never includes the value (it may be a token). A
    secret-looking key (or table holding one) names the environment variable to use."""
    name = where.rpartition(".")[2]
    nested = [f"{where}.{k}" for k in value if isinstance(k, str)] if isinstance(value, dict) else []
    secret = next((w for w in [where, *nested] if looks_secret(w.rpartition(".")[2])), None)
    if secret is not None:
        return (
            f"{where}: unknown key; secrets are never read from the file, "
            f"set the environment variable {secret_variable(secret)} instead"
        )
    matches = get_close_matches(name, known, n=1, cutoff=0.6)
    return f"{where}: unknown key" + (f" (did you mean '{matches[0]}'?)" if matches else "")


def dotted(prefix: str, loc: tuple[str | int, ...]) -> str:
    """("offsets", 0) under "reminders.questions" → "reminders.questions.offsets[0]"."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part != "[key]":
            out += f".{part}" if out else part
    return out


def validation_problems(prefix: str, schema: type, err: ValidationError) -> list[str]:
    """One line per error pydantic found in the table at `prefix`, validated as `schema`
    (whose keys give the "did you mean" hint, and whose annotations the allowed range)."""
    known = list(get_type_hints(schema))
    return [_line(prefix, schema, known, e) for e in err.errors(include_url=False)]


_KINDS: dict[object, str] = {
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    tuple: "an array",
    Mapping: "a table",
}
_BOUNDS = (("gt", "greater than"), ("ge", "at least"), ("lt", "less than"), ("le", "at most"))
_OWN_WORDS = {
    "int_type", "int_parsing", "int_from_float", "float_type", "float_parsing", "bool_type", "bool_parsing",
    "finite_number", "greater_than", "greater_than_equal", "less_than", "less_than_equal",
    "tuple_type", "dict_type", "mapping_type",
}  # fmt: skip
"""pydantic's errors that we say in our own words: "must be a number greater than 0 and at
most 1", so whoever fixes one mistake learns the whole range, not just the violated end."""


def expected(schema: type, key: str) -> str | None:
    """What `key` of `schema` accepts, from its annotation ("a whole number at least 1
    and at most 100"); None for values our own parsers describe."""
    hint: object = get_type_hints(schema, include_extras=True).get(key)
    bounds: list[str] = []
    while True:
        if get_origin(hint) is Annotated:
            hint, *meta = get_args(hint)
            for item in meta:
                for constraint in [item, *getattr(item, "metadata", ())]:
                    bounds += [
                        f"{word} {getattr(constraint, a)}" for a, word in _BOUNDS if hasattr(constraint, a)
                    ]
        elif get_origin(hint) in (Union, types.UnionType):
            hint = next(a for a in get_args(hint) if a is not type(None))
        else:
            break
    kind = _KINDS.get(get_origin(hint) or hint)
    if len(bounds) == 2 and bounds[0].startswith("at least") and bounds[1].startswith("at most"):
        bounds = [f"from {bounds[0].removeprefix('at least ')} to {bounds[1].removeprefix('at most ')}"]
    return None if kind is None else " ".join([kind, " and ".join(bounds)]).strip()


def _line(prefix: str, schema: type, known: list[str], e: ErrorDetails) -> str:
    where = dotted(prefix, e["loc"])
    if e["type"] in _OWN_WORDS and len(e["loc"]) == 1 and isinstance(e["loc"][0], str):
        kind = expected(schema, e["loc"][0])
        if kind is not None:
            value = e["input"]
            # `instructors = "sstober"`: one value where a list belongs, so show the list
            hint = f'; write ["{value}"]' if kind == "an array" and isinstance(value, str) else ""
            return f"{where}: must be {kind} (got {show(value)}{hint})"
    # a dataclass reports an unknown key as an unexpected keyword argument
    if e["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        return unknown_key(where, e["input"], known)
    if e["type"] in ("missing", "missing_argument"):
        return f"{where}: missing"
    if e["type"] == "idlbot":
        return f"{where}: {e['ctx']['problem']}"
    msg = e["msg"][:1].lower() + e["msg"][1:]
    scalar = isinstance(e["input"], str | int | float | bool | date | time)
    return f"{where}: {msg}" + (f" (got {show(e['input'])})" if scalar else "")
