"""The import contract: the tree's rules, checked on the source with `ast` on every run.

* `idlbot.domain` is pure: it imports nothing of the project outside `domain/` and no
  third-party library, so the rules run and are tested without an event loop or I/O.
* Services and commands reach the world through `idlbot.ports` only: no storage, adapter,
  web or scheduling class, and none of the I/O libraries, so they run on in-memory fakes.
* A library's exceptions are caught only inside the adapter that owns that library, so
  the code above sees one kind of failure per port (e.g. `DeliveryError`), not the
  driver's dozen.
* No import cycles between modules (function-level imports count: a cycle hidden in a
  function still ties the two modules together).

`check_tree` returns the violations as sentences; the tests assert there are none, and one
test feeds it a deliberately wrong module to show that each rule bites.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "idlbot"

IO_LIBRARIES = (
    "aiohttp", "sqlalchemy", "alembic", "mattermostautodriver", "httpx", "gitlab", "apscheduler",
    "matplotlib", "prometheus_client", "icalendar", "pydantic", "asyncpg", "aiosqlite",
)  # fmt: skip
"""Libraries that services and commands must not import (they get ports instead)."""

PORTS_ONLY = ("idlbot.services", "idlbot.commands")
FORBIDDEN_FOR_PORTS_ONLY = ("idlbot.storage", "idlbot.adapters", "idlbot.web", "idlbot.scheduling",
                            "idlbot.devtools", "idlbot.app", "idlbot.cli", "idlbot.config")  # fmt: skip

EXCEPTION_OWNERS: dict[str, tuple[str, ...]] = {
    "mattermostautodriver": ("idlbot.adapters.mattermost",),
    "httpx": ("idlbot.adapters.mattermost",),  # the Mattermost driver's transport
    "gitlab": ("idlbot.adapters.gitlab",),
    "aiohttp": ("idlbot.adapters", "idlbot.web"),
}
"""Library → the only packages that may name its exceptions in an `except` clause.
The simulators in `idlbot.devtools` are servers of their own and exempt."""

STDLIB = frozenset(__import__("sys").stdlib_module_names)


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def package(self) -> str:
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


def load_tree(root: Path = PACKAGE) -> list[Module]:
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append(Module(name, path, ast.parse(path.read_text(), str(path))))
    return found


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of nodes inside `if TYPE_CHECKING:` blocks (annotations only, never run)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skip.update(id(n) for n in ast.walk(child))
    return skip


def imports(module: Module, known: set[str]) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import outside TYPE_CHECKING; `from pkg import
    sub` counts as importing `pkg.sub` when that is a module of the tree."""
    skip = _type_checking_nodes(module.tree)
    for node in ast.walk(module.tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub if sub in known else base), node.lineno


def _within(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def layer_violations(modules: list[Module]) -> list[str]:
    known = {m.name for m in modules}
    found = []
    for m in modules:
        rel = m.path.relative_to(PACKAGE.parent)
        for target, line in sorted(set(imports(m, known)), key=lambda pair: pair[1]):
            top = target.split(".")[0]
            if _within(m.name, ("idlbot.domain",)):
                if top == "idlbot" and not _within(target, ("idlbot.domain",)):
                    found.append(f"{rel}:{line}: the domain imports {target} (only idlbot.domain allowed)")
                elif top not in ("idlbot", "__future__") and top not in STDLIB:
                    found.append(f"{rel}:{line}: the domain imports the library {top} (stdlib only)")
            if _within(m.name, PORTS_ONLY):
                if _within(target, FORBIDDEN_FOR_PORTS_ONLY):
                    found.append(f"{rel}:{line}: {m.name} imports {target}; depend on a port in idlbot.ports")
                elif top in IO_LIBRARIES:
                    found.append(f"{rel}:{line}: {m.name} imports the library {top}; that is an adapter's")
            if _within(m.name, ("idlbot.ports",)) and _within(target, FORBIDDEN_FOR_PORTS_ONLY + PORTS_ONLY):
                found.append(f"{rel}:{line}: the port module {m.name} imports {target}")
    return found


def _library_names(module: Module) -> dict[str, str]:
    """Local name → the library it was imported from, for the libraries in EXCEPTION_OWNERS."""
    names: dict[str, str] = {}
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top in EXCEPTION_OWNERS:
                    names[(alias.asname or alias.name).split(".")[0]] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            top = node.module.split(".")[0]
            if top in EXCEPTION_OWNERS:
                for alias in node.names:
                    names[alias.asname or alias.name] = top
    return names


def exception_violations(modules: list[Module]) -> list[str]:
    found = []
    for m in modules:
        if _within(m.name, ("idlbot.devtools",)):
            continue
        names = _library_names(m)
        for node in ast.walk(m.tree):
            if not isinstance(node, ast.ExceptHandler) or node.type is None:
                continue
            for expr in ast.walk(node.type):
                root = expr
                while isinstance(root, ast.Attribute):
                    root = root.value
                if not isinstance(root, ast.Name) or root.id not in names:
                    continue
                library = names[root.id]
                if not _within(m.name, EXCEPTION_OWNERS[library]):
                    where = f"{m.path.relative_to(PACKAGE.parent)}:{node.lineno}"
                    found.append(
                        f"{where}: {m.name} catches {ast.unparse(expr)} from {library}; "
                        f"only {', '.join(EXCEPTION_OWNERS[library])} may (turn it into a port's error there)"
                    )
                break
    return found


def cycles(modules: list[Module]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    known = {m.name for m in modules}
    graph = {m.name: sorted({t for t, _ in imports(m, known) if t in known and t != m.name}) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def check_tree(modules: list[Module]) -> list[str]:
    problems = layer_violations(modules) + exception_violations(modules)
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles(modules)]
    return problems


@pytest.fixture(scope="module")
def tree() -> list[Module]:
    return load_tree()


def test_the_domain_is_pure_and_services_use_ports(tree: list[Module]) -> None:
    assert layer_violations(tree) == []


def test_library_exceptions_are_caught_only_in_their_adapter(tree: list[Module]) -> None:
    assert exception_violations(tree) == []


def test_no_import_cycles(tree: list[Module]) -> None:
    assert cycles(tree) == []


def _fake(name: str, source: str) -> Module:
    path = PACKAGE / (name.removeprefix("idlbot.").replace(".", "/") + ".py")
    return Module(name, path, ast.parse(source))


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        ("idlbot.domain.bad", "from idlbot.storage.outbox import SqlOutbox", "the domain imports"),
        ("idlbot.domain.bad", "import sqlalchemy", "the domain imports the library sqlalchemy"),
        ("idlbot.services.bad", "from idlbot.storage.roster import SqlRoster", "depend on a port"),
        ("idlbot.commands.bad", "from idlbot.adapters import chart", "depend on a port"),
        ("idlbot.commands.bad", "import aiohttp", "that is an adapter's"),
        (
            "idlbot.app",
            "from mattermostautodriver.exceptions import ResourceNotFound\n"
            "try:\n    pass\nexcept ResourceNotFound:\n    pass\n",
            "catches ResourceNotFound",
        ),
        (
            "idlbot.services.bad",
            "import gitlab\ntry:\n    x = 1\nexcept gitlab.GitlabError:\n    x = 2",
            "catches gitlab.GitlabError",
        ),
    ],
)
def test_each_rule_bites(name: str, source: str, expected: str) -> None:
    """A deliberately wrong module makes the check fail with a sentence naming the rule."""
    problems = check_tree([_fake(name, source)])
    assert any(expected in p for p in problems), problems


def test_a_cycle_is_found() -> None:
    a = _fake("idlbot.storage.a", "from idlbot.storage.b import x")
    b = _fake("idlbot.storage.b", "from idlbot.storage.a import y")
    assert check_tree([a, b]) == ["import cycle: idlbot.storage.a -> idlbot.storage.b"]
