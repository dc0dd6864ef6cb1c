"""Schema revisions without Alembic: the scripts' ids, the head, the database's stamp.

`idlbot run` only checks the schema (at start and in the health probe); it never
migrates. Alembic's ScriptDirectory and MigrationContext pull in Mako and Pygments,
11 MB of the bot's resident memory for two lookups (the bot's memory budget is 120 MB). So the
running bot reads the `revision`/`down_revision` assignments of the scripts with `ast`
(no script is imported or executed) and the `alembic_version` table with one SELECT;
`idlbot migrate` still runs Alembic itself. tests/migrations pin that both agree.
"""

from __future__ import annotations

import ast
import functools
from importlib.resources import files

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

__all__ = ["current", "head", "known", "stamped"]

VERSION_TABLE = "alembic_version"


def _assigned(tree: ast.Module, name: str) -> str | None:
    for node in tree.body:
        target: ast.expr
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            target, expr = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, expr = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == name:
            value = ast.literal_eval(expr)
            if value is not None and not isinstance(value, str):
                raise RuntimeError(f"migration {name} {value!r}: only a linear history is supported")
            return value
    raise RuntimeError(f"a migration script has no {name}")


@functools.cache
def _graph() -> dict[str, str | None]:
    """revision -> down_revision of every script shipped in idlbot.migrations.versions."""
    graph: dict[str, str | None] = {}
    for entry in files("idlbot.migrations.versions").iterdir():
        if entry.name.endswith(".py") and entry.name != "__init__.py":
            tree = ast.parse(entry.read_text(encoding="utf-8"))
            revision = _assigned(tree, "revision")
            if revision is None:
                raise RuntimeError(f"{entry.name}: revision is None")
            graph[revision] = _assigned(tree, "down_revision")
    return graph


def head() -> str:
    """The one revision no other script builds on."""
    graph = _graph()
    heads = set(graph) - {down for down in graph.values() if down is not None}
    if len(heads) != 1:
        raise RuntimeError(f"expected one head revision in idlbot.migrations, found {sorted(heads)}")
    return heads.pop()


def known(revision: str | None) -> bool:
    return revision is None or revision in _graph()


def current(conn: Connection) -> str | None:
    """The revision stamped in the database, None for an unmigrated one (no table, no row)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return stamped(conn)


_STAMP = text(f"SELECT version_num FROM {VERSION_TABLE}")


def stamped(conn: Connection) -> str | None:
    """`current` where the table is known to exist: one SELECT, no catalog lookup (the
    health probe asks every second; the inspector made it 1.8 ms of CPU instead of ~0.5)."""
    rows = conn.execute(_STAMP).scalars().all()
    if len(rows) > 1:
        raise RuntimeError(f"the database has several schema heads: {sorted(rows)}")
    return str(rows[0]) if rows else None
