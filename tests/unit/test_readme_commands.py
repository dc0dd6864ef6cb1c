"""The README's Commands table lists every command and subcommand the bot has.

The list is derived, never copied: every registered command (the registry in
idlbot/commands/), every literal word, `--flag` and `key=` of its declared usage, and
every `/idl <command> <subcommand>` the bot itself tells users to type (such as
`/idl announce confirm 2` in the announcement preview) must appear in the table's first
column, in a cell of that command. So a new subcommand cannot ship undocumented.
"""

from __future__ import annotations

import re
from pathlib import Path

from idlbot.commands import build_registry

ROOT = Path(__file__).resolve().parents[2]

_PLACEHOLDER = re.compile(r"<[^>]*>|\"[^\"]*\"|@\w+|#\w+|…")
_TOKEN = re.compile(r"--[a-z][a-z-]*|[a-z][a-z-]*=|[a-z][a-z-]*")
_SPAN = re.compile(r"`([^`]+)`")
_TOLD = re.compile(r"/idl ([a-z]+) (--[a-z-]+|[a-z][a-z-]*)")


def commands_table() -> list[str]:
    """The first cells of the README's Commands table, `\\|` read as `|`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows, "no Commands table in the README"
    return [row.replace("\\|", "\x00").split("|")[1].replace("\x00", "|") for row in rows]


def documented(name: str) -> str:
    """Every code span of the table's first column that starts with `name`, joined."""
    spans = [span for cell in commands_table() for span in _SPAN.findall(cell)]
    return "\n".join(s for s in spans if s.split()[0] == name)


def usage_tokens(usage: str) -> set[str]:
    """The literal words of a usage line: subcommands, choices, flags and `key=`."""
    return set(_TOKEN.findall(_PLACEHOLDER.sub(" ", usage)))


def present(token: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(token)}(?![\w-])", text) is not None or (
        token.endswith("=") and token in text
    )


def test_usage_tokens_reads_subcommands_choices_flags_and_keys() -> None:
    roster = usage_tokens("roster @student [gitlab=… active=yes|no]")
    assert roster == {"roster", "gitlab=", "active=", "yes", "no"}
    paper = usage_tokens('paper <team> done|missing [--reason "…"]')
    assert paper == {"paper", "done", "missing", "--reason"}
    assert usage_tokens("agenda [preview | skip #<issue>]") == {"agenda", "preview", "skip"}


def test_every_registered_command_and_its_usage_is_in_the_table() -> None:
    missing: list[str] = []
    for command in build_registry().commands():
        cells = documented(command.name)
        if not cells:
            missing.append(f"{command.name}: no row")
            continue
        tokens = sorted(usage_tokens(command.usage))
        missing += [f"{command.name}: {t}" for t in tokens if not present(t, cells)]
    assert not missing, f"README Commands table lacks: {missing}"


def test_every_subcommand_the_bot_tells_users_to_type_is_in_the_table() -> None:
    names = {c.name for c in build_registry().commands()}
    told: set[tuple[str, str]] = set()
    for path in (ROOT / "idlbot").rglob("*.py"):
        for name, word in _TOLD.findall(path.read_text(encoding="utf-8")):
            if name in names and word not in names:  # `/idl help deadlines` names a command
                told.add((name, word))
    assert ("announce", "confirm") in told  # the preview's hint, so the scan does find them
    missing = sorted(f"{n} {w}" for n, w in told if not present(w, documented(n)))
    assert not missing, f"README Commands table lacks: {missing}"
