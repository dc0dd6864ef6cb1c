"""Text we did not write, made safe to put into a Mattermost post.

Anything a user, GitLab or Slurm wrote (announcement and reminder texts, issue and wiki
titles, maintenance reasons, cluster and job names, names typed into a command) reaches a
post only through `defuse`. It does two things, both without enumerating spellings:

* **No mention.** The server splits a post into words on every character that is not a
  letter, digit or one of `: . - _ @`, trims and strips `.-:_`, and compares the rest with
  `@all`, `@channel`, `@here`, usernames and group names (see the simulator's
  `mm_mentions`). A zero-width space (U+200B, not a letter) right after *every* `@` ends
  each word at the `@`, so no word can ever read `@something`, whatever follows.
* **Rendered literally.** Every character that carries CommonMark/Mattermost meaning inline
  is backslash-escaped, the backslash itself first (otherwise `\\[x\\](http://evil)` turns
  back into a link). Characters that matter only at the start of a line (`-`, `+`, `=`,
  `1.`) are escaped there. Autolinks are not syntax and cannot be escaped: the server and
  the web app link `http://host`, `www.host` and `name@host` by pattern (GFM's autolink
  extension), so a zero-width space goes between the scheme and `://`, between `www` and
  `.` (and after `@`, above): `http\u200b://host` is no longer a scheme followed by `://`.
  Leading spaces are dropped so a line cannot become an indented code block.

The zero-width spaces are invisible, so the text still reads the same.
"""

from __future__ import annotations

import re
from functools import lru_cache

ZWSP = "\u200b"

# Inline syntax: emphasis, code, links/images, HTML/autolinks, entities, tables, headings,
# strikethrough, Mattermost's ~channel links, LaTeX and hashtags. Backslash must be first.
_INLINE = "\\`*_[]()<>&|#~$"
_INLINE_RE = re.compile("([" + re.escape(_INLINE) + "])")
# Block syntax that only counts at the start of a line: list items, setext underlines,
# thematic breaks, ordered lists ("1." / "1)"; ")" is escaped inline anyway).
_LINE_START_RE = re.compile(r"^([-+=])|^(\d{1,9})\.", re.MULTILINE)
_AUTOLINK_RE = re.compile(r"(?=://)|(?<=www)(?=\.)", re.IGNORECASE)


@lru_cache(maxsize=4096)  # the same titles and names are defused in every reply
def defuse(text: str, *, inline: bool = True) -> str:
    """`text` as a literal, mention-free piece of a post.

    `inline=True` (the default) collapses all whitespace, newlines included, to single
    spaces: the text goes into a line we wrote. `inline=False` keeps the lines (an
    announcement or reminder body) but strips each line's leading spaces, since four of
    them would start a code block.
    """
    lines = [" ".join(text.split())] if inline else [line.strip() for line in text.splitlines()]
    text = "\n".join(lines)
    text = _INLINE_RE.sub(r"\\\1", text)
    text = _LINE_START_RE.sub(_escape_line_start, text)
    text = _AUTOLINK_RE.sub(ZWSP, text)
    return text.replace("@", "@" + ZWSP)


def _escape_line_start(match: re.Match[str]) -> str:
    if match.group(1) is not None:
        return "\\" + match.group(1)
    return match.group(2) + "\\."
