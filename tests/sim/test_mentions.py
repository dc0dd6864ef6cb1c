"""The simulator's mention parser against the examples in shared/mattermost/mentions.md."""

from __future__ import annotations

import pytest

from idlbot.devtools.sim.mm_mentions import parse, parse_post, words

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
