"""Hostile foreign text and the check that a post built from it is safe."""

from __future__ import annotations

from collections.abc import Collection

from idlbot.devtools.sim.mm_mentions import Mentions, parse_post
from tests.support.markdown import links

#: Spellings the server's parser reads as channel-wide, a user, a group, and two links.
HOSTILE = "@channel_ @ALL_ @here_ x.@channel @alice @tutors. \\[x\\](http://evil.example) www.evil.example"
KEYWORDS = frozenset({"@alice", "@tutors"})


def assert_no_mention(found: Mentions, message: str) -> None:
    assert not found.channel_wide, message
    assert not found.keywords, (found.keywords, message)
    assert not found.others, (found.others, message)


def assert_safe(message: str, keywords: Collection[str] = KEYWORDS) -> None:
    """No mention the server would find and no link to anything the text named."""
    assert not any("evil" in target for target in links(message)), (links(message), message)
    assert_no_mention(parse_post(message, keywords), message)
