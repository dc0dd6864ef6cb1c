"""How many arguments a command takes, read from the usage it declares.

The usage string is the one declaration of a command's arguments (help shows it, a
mistake shows it), so the registry reads it to refuse surplus arguments in one place
instead of every handler counting words: `/idl status @alice @bob` would otherwise
quietly show alice. The grammar is the one the usages are written in:

* alternatives are separated by ` | ` (at the top or inside brackets), a top-level one
  may repeat the command name (`announce list | announce cancel <id>`);
* `[…]` is optional; `a|b|c` without spaces is one word with a choice;
* `--name value` is an option with a value (`--reason "…"`), `--name` alone a flag;
  options do not count as arguments;
* `<text>` and `<reason>` are free text: anything after them is theirs.

Only the number of words is checked here; what each word must be is the handler's
business (it knows which user, assignment or group exists). A form is chosen by its
first word when that is a literal subcommand (`agenda freeze` takes nothing more), else
the most any form takes is allowed.
"""

from __future__ import annotations

import functools
import math
import re
import shlex
from dataclasses import dataclass

FREE_TEXT = frozenset({"<text>", "<reason>"})
_TOKEN = re.compile(r'"[^"]*"|\[|\]|[^\s\[\]]+')
_LITERAL = re.compile(r"[a-z][a-z-]*")


@dataclass(frozen=True)
class Form:
    """One way to call a command: its leading subcommand word (None: none) and how many
    argument words it takes at most (`math.inf` for free text)."""

    lead: str | None
    most: float


@dataclass(frozen=True)
class Grammar:
    forms: tuple[Form, ...]
    valued: frozenset[str] = frozenset()  # options that take a value ("--reason")
    flags: frozenset[str] = frozenset()  # options without one ("--yes")

    def surplus(self, args: str) -> list[str]:
        """The words of `args` beyond what the matching form takes; empty if none."""
        if not args or args.isspace():  # most asks (`status`, `deadlines`): nothing to split
            return []
        plain = self._without_options(args)
        first = plain[0].lower() if plain else None
        # a bare word is a subcommand or a placeholder (`[n]`), so only a match narrows;
        # free text may start with a subcommand's word ("announce cancel today's session")
        chosen = [f for f in self.forms if f.lead is not None and f.lead == first] or list(self.forms)
        chosen += [f for f in self.forms if f.lead is None and f.most == math.inf]
        most = max(f.most for f in chosen)
        return [] if len(plain) <= most else plain[int(most) :]

    def _without_options(self, args: str) -> list[str]:
        words = _words(args)
        plain: list[str] = []
        skip = False
        for word in words:
            if skip:
                skip = False
            elif word.startswith("--") and len(word) > 2:
                name, sep, _ = word.partition("=")
                if name in self._known:
                    skip = not sep and name in self.valued
                    continue
                plain.append(word)  # an option the command does not have is a word too much
            else:
                plain.append(word)
        return plain

    def unquoted_option(self, args: str) -> str | None:
        """The valued option whose value the first surplus word seems to continue
        (`--reason sick note`: "note"), so the reply can say to quote it."""
        extra = self.surplus(args)
        if not extra:
            return None
        words = _words(args)
        for i, word in enumerate(words[:-2]):
            name = word.partition("=")[0]
            if name in self.valued and "=" not in word and words[i + 2] == extra[0]:
                return name
        return None

    @property
    def _known(self) -> frozenset[str]:
        return self.valued | self.flags


def _words(args: str) -> list[str]:
    """Words as the handlers read them (shell quoting). An unclosed quote takes the rest
    as one word, as it would if closed: the handler then says to close it, which helps
    more than "too many arguments"."""
    try:
        return shlex.split(args)
    except ValueError:
        words = args.split()
        quoted = next((i for i, w in enumerate(words) if '"' in w or "'" in w), len(words))
        return words[:quoted] + ([" ".join(words[quoted:])] if quoted < len(words) else [])


@functools.lru_cache(maxsize=128)
def parse(name: str, usage: str) -> Grammar:
    """The grammar of `usage` (which starts with the command `name`)."""
    tokens = _TOKEN.findall(usage)
    pos = 0
    valued: set[str] = set()
    flags: set[str] = set()

    def alternatives() -> list[list[str]]:
        """The expansions of `a | b | …`: each a flat list of words."""
        nonlocal pos
        found = sequence()
        while pos < len(tokens) and tokens[pos] == "|":
            pos += 1
            found += sequence()
        return found

    def sequence() -> list[list[str]]:
        """The expansions of one sequence (an optional part is there or not)."""
        nonlocal pos
        out: list[list[str]] = [[]]
        while pos < len(tokens) and tokens[pos] not in ("|", "]"):
            token = tokens[pos]
            pos += 1
            if token == "[":
                inner = alternatives()
                pos += 1  # the closing bracket
                out = [o + i for o in out for i in ([], *inner)]
            elif token.startswith("--"):
                takes = pos < len(tokens) and tokens[pos] not in ("|", "]", "[")
                takes = takes and not tokens[pos].startswith("--") and tokens[pos] not in FREE_TEXT
                (valued if takes else flags).add(token)
                pos += 1 if takes else 0
            else:
                out = [[*o, token] for o in out]
        return out

    forms: list[Form] = []
    for words in alternatives():
        if words and words[0] == name:
            words = words[1:]
        lead = words[0] if words and _LITERAL.fullmatch(words[0]) else None
        free = any(w in FREE_TEXT for w in words)
        forms.append(Form(lead, math.inf if free else len(words)))
    return Grammar(tuple(forms), frozenset(valued), frozenset(flags))
