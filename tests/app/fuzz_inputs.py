"""Seeded generators for the fuzz test (tests/app/test_fuzz_e2e.py): random command lines
and malformed bodies for every POST route. Plain `random.Random(seed)`, so a failure names
its seed and case and replays exactly."""

from __future__ import annotations

import json
import random
import re
from typing import Any
from urllib.parse import urlencode

WORDS = (
    # subcommands and values the commands read
    "list", "add", "cancel", "test", "log", "off", "on", "preview", "freeze", "skip", "done", "reset",
    "jobs", "all", "mail", "channel", "here", "none", "ok", "fail", "on-time", "late", "missing",
    "excused", "yes", "no", "a01", "a02", "a99", "g1", "g2", "t1", "#1", "#999999999999",
    # channels and people
    "town-square", "~town-square", "~exercise-group-1", "questions", "@alice", "@carol", "@tutor1",
    "@sstober", "@nobody", "@", "~", "gitlab=alice", "cluster=x", "group=g1", "team=t1", "active=no",
    # flags, also glued and half-quoted
    "--at", "--channel", "--notify", "--yes", "--reason", "--note", "--ignore-jobs", "--", "-", "--x",
    '--at="in 2h"', "--at=", "--notify=all", "--channel=town-square",
    # times: good, past, overflowing, impossible
    "in 2h", "in 90m", "in 1h30m", "in 0m", "in 99999999d", "in 9999999999999999999999m", "in -1d",
    "tue 10:00", "every fri 11:00", "weekly mon 08:00", "tomorrow 09:00", "today 00:00", "mon 25:99",
    "2018-10-23 10:00", "2018-02-30 10:00", "9999-12-31 23:59", "0001-01-01 00:00", "2019-02-09 12:00",
    # numbers
    "0", "-1", "1", "2", "1.5", "1e400", "NaN", "inf", str(2**63), str(2**64), "9" * 40, "٣",
    # quotes, markup, mentions, unicode
    '"', "'", '"quoted text"', "'single'", '"unterminated', "“curly”", "`", "```", "**bold**", "\\",
    "[x](http://evil.example)", "![i](http://e/x.png)", "# head", "| a | b |", "@channel", "@all_",
    "@here.", "<!channel>", "ünïcödé", "🙂", "👩‍👩‍👧", "\u202etxet", "\u200b", "漢字", "a\u0301",
    "\U0010ffff", "\n", "\t", "x" * 300,
)  # fmt: skip

VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 1.5, 2**31, 2**63, 2**64, 10**30, 1e308, float("inf"), "", "x", "1",
    "\ud800", "\x00", "9" * 5000, [], [1], {}, {"a": 1}, "a" * 10_000, [[[[[]]]]],
)  # fmt: skip


WHEN = tuple(w for w in WORDS if ":" in w or w.startswith("in "))
TEMPLATES = (
    "remind add {when} {channel} {text}", "remind add {when} {text}", "remind cancel {n}", "remind test {n}",
    "remind log {n}", 'announce --at "{when}" --channel {channel} --notify {word} {text}',
    "announce --yes --at {when} {text}", "announce --channel={channel} {text}", "announce cancel {n}",
    "maintenance add {when} {when} {text}", "maintenance add {when} {when} {text} --ignore-jobs",
    "maintenance cancel {word}", 'record {word} {user} {word} --reason "{text}"',
    "present {word} {user} {word} --note {text}", "roster {user} gitlab={word} group={word} active={word}",
    "status {user}", "deadlines {n}", "agenda {word} #{n}", "paper {word} {word} --reason {text}",
    "audit {user} {word}", "notify jobs {word}", "help {word}", "calendar {word}",
)  # fmt: skip


def templated(rng: random.Random) -> str:
    """A line shaped like a command's usage, its slots filled with random words."""

    def fill(slot: str) -> str:
        pool = {"when": WHEN, "n": ("1", "2", "0", "-1", str(2**64), "9" * 40, "x")}.get(slot, WORDS)
        if slot == "text":
            return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 4)))
        if slot in ("channel", "user"):
            pool = tuple(w for w in WORDS if w[:1] in "~@" or "-" in w)
        return rng.choice(pool)

    template = rng.choice(TEMPLATES)
    return re.sub(r"\{(\w+)\}", lambda m: fill(m[1]), template)


def command_line(rng: random.Random, names: list[str]) -> str:
    """Half shaped like a command's usage (`templated`), half a command name (mostly real,
    sometimes mangled) and 0 to 6 random words."""
    if rng.random() < 0.5:
        return rng.choice(("", "/idl ")) + templated(rng)
    pick = rng.random()
    name = rng.choice(names)
    if pick < 0.05:
        name = name.upper()
    elif pick < 0.08:
        name = name[:-1] + "x"
    elif pick < 0.10:
        name = rng.choice(WORDS)
    words = [rng.choice(WORDS) for _ in range(rng.randint(0, 6))]
    if rng.random() < 0.1:
        words.append(str(rng.randint(-(2**70), 2**70)))
    prefix = rng.choice(("", "", "", "/idl ", "  ", "/IDL "))
    return prefix + " ".join([name, *words])


def mutate_json(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """`value` with one field somewhere replaced, removed or re-typed."""
    if isinstance(value, dict) and value and depth < 4 and rng.random() < 0.8:
        key = rng.choice(list(value))
        changed = dict(value)
        roll = rng.random()
        if roll < 0.2:
            del changed[key]
        elif roll < 0.5:
            changed[key] = rng.choice(VALUES)
        else:
            changed[key] = mutate_json(rng, value[key], depth + 1)
        return changed
    if isinstance(value, list) and value and rng.random() < 0.5:
        return [mutate_json(rng, value[0], depth + 1), *value[1:]]
    return rng.choice(VALUES)


def dumps(value: Any) -> bytes:
    """JSON as a sender might write it: lone surrogates escaped, NaN and Infinity allowed."""
    return json.dumps(value).encode()


def mutate_bytes(rng: random.Random, body: bytes) -> bytes:
    """A byte-level change: truncation, a raw non-UTF-8 byte, a flipped byte, junk."""
    roll = rng.random()
    if not body or roll < 0.15:
        return rng.choice((b"", b"\xff", b"\xc3", b"null", b"[]", b"[" * 50_000, b"1" * 5000, b"\x00"))
    at = rng.randrange(len(body))
    if roll < 0.35:
        return body[:at]
    if roll < 0.6:
        return (
            body[:at] + rng.choice((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00", b"%ff", b"%")) + body[at:]
        )
    if roll < 0.8:
        return body[:at] + bytes([rng.randrange(256)]) + body[at + 1 :]
    return body + rng.randbytes(rng.randint(1, 64))


def malformed_json(rng: random.Random, valid: dict[str, Any], keep: tuple[str, ...] = ()) -> bytes:
    """Half structural (valid JSON, a wrong shape), half byte-level. The `keep` fields stay
    as they are in a structural change (the MailProg's `sent_at`, which its signature
    check compares with a header, so that the body reaches the parser)."""
    roll = rng.random()
    if roll < 0.45 or (keep and roll < 0.8):
        changed = mutate_json(rng, valid)
        if isinstance(changed, dict):
            changed.update({k: valid[k] for k in keep})
        return dumps(changed)
    if roll < 0.55:
        return dumps(rng.choice(([valid], [], "x", 1, None, {"nested": valid})))
    return mutate_bytes(rng, dumps(valid))


def malformed_form(rng: random.Random, valid: dict[str, str]) -> bytes:
    """A slash form with the right token and something wrong elsewhere."""
    roll = rng.random()
    form = dict(valid)
    if roll < 0.4:
        key = rng.choice([k for k in form if k != "token"])
        if rng.random() < 0.3:
            del form[key]
        else:
            form[key] = str(rng.choice(VALUES)).replace("\ud800", "")
        return urlencode(form).encode()
    if roll < 0.5:
        return urlencode({**form, **{f"f{i}": "x" for i in range(rng.randint(60, 200))}}).encode()
    token = f"token={form.pop('token')}&".encode()
    return token + mutate_bytes(rng, urlencode(form).encode())
