"""Render a post as Mattermost would (GFM: tables, strikethrough, autolinks) to check literal text.

cmark-gfm is GitHub's reference implementation; its autolink extension links `http://`,
`www.` and e-mail addresses by pattern, as Mattermost does. (linkify-it, used by
markdown-it-py, counts U+200B as a letter and would link far more than the server.)
"""

from __future__ import annotations

import html
import re

import cmarkgfm  # type: ignore[import-untyped]
from cmarkgfm.cmark import Options  # type: ignore[import-untyped]

from idlbot.domain.defuse import ZWSP

_TAG = re.compile(r"<\s*/?\s*([a-zA-Z0-9]+)")


def render(message: str) -> str:
    """The post's HTML; raw HTML is kept (unsafe) so that injected tags would show."""
    out: str = cmarkgfm.github_flavored_markdown_to_html(message, options=Options.CMARK_OPT_UNSAFE)
    return out


def tags(message: str) -> set[str]:
    """Every HTML element the message renders to."""
    return {t.lower() for t in _TAG.findall(render(message))}


def visible_text(message: str) -> str:
    """What a reader sees: tags dropped, entities decoded, zero-width spaces removed."""
    return html.unescape(re.sub(r"<[^>]*>", "", render(message))).replace(ZWSP, "").strip()


def links(message: str) -> list[str]:
    """The targets of every link and image in the rendered message."""
    return re.findall(r'(?:href|src)="([^"]*)"', render(message))
