"""The server's mention parser, so tests see what the real server would notify.

A port of `StandardMentionParser.ProcessText` (server/channels/app/mention_parser_standard.go),
as written down in /work/shared/mattermost/mentions.md. Keywords are modelled as the
lower-cased `@username` of every user and `@name` of every group; first names and custom
keywords (opt-in per user) are not.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection
from dataclasses import dataclass, field

CHANNEL_WIDE = frozenset({"@here", "@channel", "@all"})
_WORD = re.compile(r"[\w:.\-@]+")
_SUFFIXES = ".-:_"
_SENTENCE_ENDS = ".-:"
# A backslash escape (the character is literal) or an entity reference (decoded), in one
# pass so that an escaped `\&` never starts an entity.
_ESCAPE_OR_ENTITY = re.compile(
    r"\\([!-/:-@\[-`{-~])"  # any ASCII punctuation can be escaped
    r"|(&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});)"
)


@dataclass
class Mentions:
    """What one post's text mentions.

    `channel_wide` is set by `@all`, `@channel` or `@here` in any spelling the server
    accepts. `keywords` are the known `@name` keys that matched (users or groups, lower
    case, with the `@`). `others` are further `@name` words the server would still look up
    as users outside the channel ("did not get notified" hints); empty names are dropped.
    """

    channel_wide: bool = False
    keywords: set[str] = field(default_factory=set)
    others: set[str] = field(default_factory=set)

    @property
    def any(self) -> bool:
        """True if the server would find anyone (or anything it would look up) to notify."""
        return self.channel_wide or bool(self.keywords) or bool(self.others)


def parse_post(message: str, keywords: Collection[str] = ()) -> Mentions:
    """A post as the server sees it: the raw text and its Markdown text with escapes resolved
    and entities decoded (the server feeds its parser the text nodes of the parsed Markdown,
    so `&#64;all` counts there). The union over-reports code spans, never under-reports."""
    at_only = _at_keys_only(keywords)
    raw = _parse(message, keywords, at_only)
    text = _parse(_resolve(message), keywords, at_only)
    return Mentions(
        raw.channel_wide or text.channel_wide, raw.keywords | text.keywords, raw.others | text.others
    )


def _resolve(message: str) -> str:
    def one(m: re.Match[str]) -> str:
        return m.group(1) if m.group(1) is not None else html.unescape(m.group(2))

    return _ESCAPE_OR_ENTITY.sub(one, message)


def words(text: str) -> list[str]:
    """Step 1: split on every character that is not a letter, digit, `:`, `.`, `-`, `_`, `@`.
    (`\\w` is exactly `isalpha() or isnumeric()` plus `_`, checked over every code point.)"""
    return _WORD.findall(text)


def parse(text: str, keywords: Collection[str] = ()) -> Mentions:
    """Run the server's algorithm over `text`; `keywords` are lower-case `@name` keys."""
    return _parse(text, keywords, _at_keys_only(keywords))


def _at_keys_only(keywords: Collection[str]) -> bool:
    return all(k.startswith("@") for k in keywords)


def _parse(text: str, keywords: Collection[str], at_keys_only: bool) -> Mentions:
    """`parse`. When every key starts with `@` (as the channel-wide ones do), a word without
    an `@` can match none, nor hold an `@name` part: it is skipped. Why: a 5 kB overview
    took 1.9 ms here, in the benchmark's process, beside the bot under measurement."""
    result = Mentions()
    if at_keys_only and "@" not in text:
        return result
    for raw in words(text):
        if at_keys_only and "@" not in raw:
            continue
        if len(raw) > 1 and raw.startswith(":") and raw.endswith(":"):
            continue  # step 2: an emoji such as :smile:
        word = raw.lstrip(":.-_")  # step 3
        if _check(word, keywords, result) or _check_without_suffix(word, keywords, result):
            continue
        if word.lower() not in CHANNEL_WIDE and word.startswith("@"):
            name = word[:-1] if word[-1] in _SENTENCE_ENDS else word
            _other(name[1:], result)
        elif any(c in word for c in _SENTENCE_ENDS):
            for part in _split_inside(word):
                if not _check(part, keywords, result) and part.startswith("@"):
                    _other(part[1:], result)
    return result


def _check(word: str, keywords: Collection[str], result: Mentions) -> bool:
    """Step 4 (`checkForMention`); `@all`, `@channel` and `@here` are keywords of every member."""
    key = word.lower()
    if key in CHANNEL_WIDE:
        result.channel_wide = True
        return True
    if key in keywords:
        result.keywords.add(key)
        return True
    return False


def _check_without_suffix(word: str, keywords: Collection[str], result: Mentions) -> bool:
    """Step 5: drop trailing `.-:_` one at a time and check again."""
    while word and word[-1] in _SUFFIXES:
        word = word[:-1]
        if _check(word, keywords, result):
            return True
    return False


def _split_inside(word: str) -> list[str]:
    """Step 6: the parts between `.`, `-` and `:` (empty parts dropped, as FieldsFunc does)."""
    parts: list[str] = []
    current = ""
    for ch in word:
        if ch in _SENTENCE_ENDS:
            if current:
                parts.append(current)
            current = ""
        else:
            current += ch
    if current:
        parts.append(current)
    return parts


def _other(name: str, result: Mentions) -> None:
    if name:
        result.others.add(name.lower())
