"""The simulator's mention parser against the examples in shared/mattermost/mentions.md."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idlbot.devtools.sim.mm_mentions import _parse, parse, parse_post, words

USERS = {"@alice", "@bob", "@tutors"}


@pytest.mark.parametrize(
    "text",
    [
        "foo.@channel",  # step 1 + step 6
        "(@all)",
        "**@here**",
        '"@channel"',
        "_@all",  # step 3
        "@ALL",  # step 4, case-insensitive
        "@Channel",
        "@channel_",  # step 5
        "@all:",
        "@here...",
        "@all-_-",
        "@ALL_",
        "x:@here",  # step 6
        "see @here.",
    ],
)
def test_channel_wide_spellings(text: str) -> None:
    assert parse(text, USERS).channel_wide


@pytest.mark.parametrize(
    "text",
    [":all:", "all", "channel here", "mail@all.example", "@allison", "@ channel", "@\u200ball", "a@\u200bb"],
)
def test_not_channel_wide(text: str) -> None:
    assert not parse(text, USERS).channel_wide


def test_emoji_words_are_skipped() -> None:
    assert words("hi :smile: @bob!") == ["hi", ":smile:", "@bob"]
    assert not parse(":@all:", USERS).any


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("@alice", "@alice"),
        ("@Alice.", "@alice"),
        ("@bob-", "@bob"),
        ("@bob:", "@bob"),
        ("(@tutors)", "@tutors"),
    ],
)
def test_user_and_group_keywords(text: str, key: str) -> None:
    found = parse(text, USERS)
    assert found.keywords == {key} and not found.channel_wide


def test_unknown_names_are_still_looked_up() -> None:
    assert parse("ask @carol.", USERS).others == {"carol"}
    assert parse("x.@dave", USERS).others == {"dave"}


def test_a_zero_width_space_after_the_at_ends_every_word() -> None:
    found = parse("@\u200bchannel_ @\u200bALL_ x.@\u200bhere @\u200balice @\u200btutors", USERS)
    assert not found.any


def test_a_post_is_also_read_as_its_markdown_text() -> None:
    """Escapes resolved, entities decoded: `&#64;all` is `@all` to the server."""
    assert parse_post("&#64;all").channel_wide and parse_post("&#x40;channel_").channel_wide
    assert parse_post("\\@here").channel_wide
    assert not parse_post("\\&#64;all").any  # an escaped & starts no entity


def test_words_are_the_character_class_of_step_one_over_every_code_point() -> None:
    """`words` splits with a regex; step 1 names the class as letters, digits and `:.-_@`."""
    kept = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if not 0xD800 <= ord(c) <= 0xDFFF)
    split = words(kept.replace("\n", " "))
    joined = "".join(split)
    assert joined == "".join(c for c in kept if c.isalpha() or c.isnumeric() or c in ":.-_@")


@settings(max_examples=400, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("@@aAlLiIcCeEhHrRnN.:-_ \u200b\u00e91(*`"), max_size=40),
    plain=st.booleans(),
)
def test_skipping_words_without_an_at_changes_nothing(text: str, plain: bool) -> None:
    """The shortcut (a word without `@` is skipped while every key has one) finds exactly
    what running every word through the server's steps does; with a key lacking `@`
    nothing is skipped."""
    keywords = USERS | ({"alice"} if plain else set())
    assert parse(text, keywords) == _parse(text, keywords, at_keys_only=False)
