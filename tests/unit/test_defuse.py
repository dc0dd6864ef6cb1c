"""domain/defuse: no mention the server would find, and the text renders literally."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from idlbot.devtools.sim.mm_mentions import parse_post
from idlbot.domain.defuse import ZWSP, defuse
from tests.support.markdown import links, render, tags, visible_text

KEYWORDS = {"@someuser", "@tutors"}  # a user and a group the parser knows
PIECES = [
    "@", "all", "ALL", "channel", "Channel", "here", "HERE", "someuser", "tutors", "_", ".", "-", ":",
    "...", "-_-", " ", "\n", "\\", "[", "]", "(", ")", "http://", "https://", "www.", "WWW.",
    "evil.example", "a@b.com", "#", "##", "|", "---", "`", "```", "~~~", "*", "**", ">", "<", "!", "~",
    "1.", "1)", "+", "=", "    ", "\t", "\r\n", ZWSP, "&amp;", "&#64;", "$", ":smile:", "<b>", "![", "](",
]  # fmt: skip
# Control characters other than tab and newlines are left out: the server drops NUL and friends.
printable = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=3)
hostile = st.lists(st.sampled_from(PIECES) | printable, max_size=25).map("".join)


@settings(max_examples=600, deadline=None)
@given(hostile)
def test_defused_text_mentions_nobody(text: str) -> None:
    for inline in (True, False):
        found = parse_post(defuse(text, inline=inline), KEYWORDS)
        assert not found.any, (text, found)


@settings(max_examples=600, deadline=None)
@given(hostile)
@example("@    \u200b @")  # found by Hypothesis: a typed ZWSP between two whitespace runs
@example("\ufeff")  # found by Hypothesis: cmark skips a byte-order mark opening the document
def test_defused_inline_text_renders_as_the_literal_text(text: str) -> None:
    out = defuse(text)
    assert tags(out) <= {"p"}, render(out)
    shown = text.replace(ZWSP, "")
    if out.startswith("\ufeff"):
        shown = shown.removeprefix("\ufeff")
    # whitespace runs compare as one space on both sides: a ZWSP typed between two runs
    # keeps them apart in the post ("@ \u200b @" shows two spaces), as the server shows it
    assert " ".join(visible_text(out).split()) == " ".join(shown.split())


@settings(max_examples=300, deadline=None)
@given(hostile)
def test_defused_block_text_has_no_structure(text: str) -> None:
    out = defuse(text, inline=False)
    assert tags(out) <= {"p"}, render(out)
    assert not links(out)


def test_the_spellings_from_the_issue() -> None:
    for text in (
        "@channel_",
        "@ALL_",
        "@here_",
        "foo.@channel",
        "x:@here",
        "@someuser",
        "@tutors.",
        "&#64;all",
    ):
        assert not parse_post(defuse(text), KEYWORDS).any
        assert parse_post(text, KEYWORDS).any  # the undefused text does mention


def test_an_escaped_bracket_link_stays_text() -> None:
    title = r"\[x\](http://evil.example)"
    assert links(title)  # the attack works on the raw title
    out = defuse(title)
    assert not links(out) and visible_text(out) == title


def test_headings_tables_fences_and_autolinks_are_text() -> None:
    block = "# head\n| a | b |\n|---|---|\n```\ncode\n```\n> quote\n- item\n1. item\nwww.evil.example\nx\n==="
    assert tags(block) > {"p"}
    assert tags(defuse(block, inline=False)) == {"p"}
    assert not links(defuse("mail a@b.com or http://evil.example or www.evil.example"))


def test_readable() -> None:
    assert defuse("Sheet 3: ship it, v1.2-rc!") == "Sheet 3: ship it, v1.2-rc!"
    assert defuse("line one\n  line two") == "line one line two"
    assert defuse("  - a\n  - b", inline=False) == "\\- a\n\\- b"
