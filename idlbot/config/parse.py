"""TOML data → every section validated on its own, every problem listed.

Each table, each [[array]] entry and each [reminders.<kind>] table is validated
separately, so one typo does not hide the next, and `build`'s cross-field checks still
run on the parts that did validate. A section that failed is simply absent from
`Parsed` (its problems are listed); `Parsed`'s getters return `T | None`, so the type
checker makes the builder handle a failed section instead of dereferencing it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from idlbot.config.errors import show, unknown_key, validation_problems
from idlbot.config.schema import SECTIONS, Section

T = TypeVar("T")


@dataclass
class Parsed:
    """What validated, by section name."""

    tables: dict[str, object] = field(default_factory=dict)
    arrays: dict[str, list[tuple[int, object]]] = field(default_factory=dict)
    kinds: dict[str, dict[str, object]] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)  # optional sections not in the file

    def table(self, name: str, schema: type[T]) -> T | None:
        """The table's value; None if it failed, or is optional, absent and has no
        defaults (an absent [gitlab])."""
        value = self.tables.get(_declared(name, schema))
        return value if isinstance(value, schema) else None

    def entries(self, name: str, schema: type[T]) -> list[tuple[int, T]]:
        """(index in the file, value) of the [[name]] entries that validated."""
        found = self.arrays.get(_declared(name, schema), [])
        return [(i, value) for i, value in found if isinstance(value, schema)]

    def tables_by_kind(self, name: str, schema: type[T]) -> dict[str, T]:
        """The [name.<kind>] tables that are present and validated, in declared order."""
        found = self.kinds.get(_declared(name, schema), {})
        return {kind: value for kind, value in found.items() if isinstance(value, schema)}


def _declared(name: str, schema: type) -> str:
    """A getter asking for the wrong schema would quietly get None (and the load fail
    with no problem listed): fail loudly instead."""
    if SECTIONS[name].schema is not schema:
        raise TypeError(f"[{name}] is read as {SECTIONS[name].schema.__name__}, not {schema.__name__}")
    return name


def parse(data: dict[str, Any], problems: list[str]) -> Parsed:
    parsed = Parsed()
    for key, value in data.items():
        if key not in SECTIONS:
            problems.append(unknown_key(key, value, list(SECTIONS)))
    for name, section in SECTIONS.items():
        if name not in data and not section.required:
            parsed.absent.append(name)
        if section.array:
            parsed.arrays[name] = _array(name, section, data.get(name, []), problems)
        elif section.kinds:
            parsed.kinds[name] = _by_kind(name, section, data.get(name, {}), problems)
        elif name in data:
            value = _validate(name, section.schema, data[name], problems)
            if value is not None:
                parsed.tables[name] = value
        elif section.required:
            problems.append(f"{name}: missing section [{name}]")
        else:
            with contextlib.suppress(ValidationError):  # keys required when present: absent = off
                parsed.tables[name] = _adapter(section.schema).validate_python({})
    return parsed


def _array(name: str, section: Section, entries: object, problems: list[str]) -> list[tuple[int, object]]:
    if not isinstance(entries, list):
        problems.append(f"{name}: expected [[{name}]] tables, got {show(entries)}")
        return []
    found = ((i, _validate(f"{name}[{i}]", section.schema, e, problems)) for i, e in enumerate(entries))
    return [(i, value) for i, value in found if value is not None]


def _by_kind(name: str, section: Section, tables: object, problems: list[str]) -> dict[str, object]:
    if not isinstance(tables, dict):
        problems.append(f"{name}: expected a table, got {show(tables)}")
        return {}
    for key, value in tables.items():
        if key not in section.kinds:
            problems.append(unknown_key(f"{name}.{key}", value, list(section.kinds)))
    found = {}
    for kind in section.kinds:
        value = (
            _validate(f"{name}.{kind}", section.schema, tables[kind], problems) if kind in tables else None
        )
        if value is not None:
            found[kind] = value
    return found


def _validate(prefix: str, schema: type, value: object, problems: list[str]) -> object | None:
    if not isinstance(value, dict):
        problems.append(f"{prefix}: expected a table, got {show(value)}")
        return None
    try:
        result: object = _adapter(schema).validate_python(value)
    except ValidationError as err:
        problems.extend(validation_problems(prefix, schema, err))
        return None
    return result


@cache
def _adapter(schema: type) -> TypeAdapter[Any]:
    """Building a validator takes milliseconds; the schemas never change."""
    return TypeAdapter(schema)
