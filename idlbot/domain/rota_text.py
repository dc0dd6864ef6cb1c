"""The rota's words: reading a class date someone typed, and every post, DM and reply.

Usernames are always shown through `defuse` (a username is text we did not write, and a
post must not ping the whole channel or anybody by accident; the writer is told by DM).
Dates read like the rest of the bot's (`when.py`): `2018-10-24`, a weekday (`wed`, the
next one, today included), `today`, `tomorrow`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from idlbot.domain.course import parse_weekday
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import UserError
from idlbot.domain.rota import Pick, nearest

DAY_FORMATS = "`2018-10-24`, `wed` (the next Wednesday), `today`, `tomorrow`"
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def who(username: str) -> str:
    """A username as shown in a post: with its @, defused."""
    return defuse("@" + username.lstrip("@"))


def day_label(day: date) -> str:
    return f"{day:%a} {day.isoformat()}"


def parse_day(text: str, today: date) -> date:
    """The date in `text`, or a UserError naming every accepted format."""
    word = text.strip().lower()
    if _ISO.fullmatch(word):
        try:
            return date.fromisoformat(word)
        except ValueError:
            pass
    elif word in ("today", "tomorrow"):
        return today + timedelta(days=1 if word == "tomorrow" else 0)
    elif (weekday := parse_weekday(word)) is not None:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    shown = defuse(text.strip() or "nothing")
    raise UserError(f"I can't read “{shown}” as a date. Use one of: {DAY_FORMATS}.")


def class_day(text: str, today: date, classes: Sequence[date]) -> date:
    """A date that is a class, or a UserError naming the nearest classes."""
    day = parse_day(text, today)
    if day in classes:
        return day
    if not classes:
        raise UserError("There are no classes this term ([classes] is not set up).")
    near = " and ".join(day_label(d) for d in nearest(classes, day))
    raise UserError(f"There is no class on {day_label(day)}; the nearest classes are {near}.")


def announcement(day: date, writer: str, slug: str, next_start: datetime | None) -> str:
    recap = f" at the start of the next class ({_when(next_start)})" if next_start else " at the next class"
    return (
        f"**Session summary** of the class on {day_label(day)}: {who(writer)} writes it "
        f"(wiki page `{slug}`) and gives a 3-minute recap{recap}."
    )


def writer_dm(day: date, slug: str, next_start: datetime | None) -> str:
    recap = (
        f"the start of the next class ({_when(next_start)})" if next_start else "the start of the next class"
    )
    return (
        f"You write the **session summary** of the class on {day_label(day)}: create the wiki "
        f"page `{slug}` with a short summary, and give a 3-minute recap at {recap}. "
        f"Cannot make it? Ask another student with `/idl rota swap {day.isoformat()} @name`."
    )


def reminder_dm(day: date, slug: str, next_start: datetime) -> str:
    return (
        f"Reminder: your summary of the class on {day_label(day)} is not on the wiki yet "
        f"(page `{slug}`). You recap it at the start of the next class ({_when(next_start)})."
    )


def alert_dm(day: date, writer: str, slug: str) -> str:
    return (
        f"The session summary of the class on {day_label(day)} is still missing: no wiki page "
        f"`{slug}` from {who(writer)} (or staff), and the next class has started."
    )


def excused_dm(day: date, new_writer: str | None) -> str:
    instead = f"{who(new_writer)} writes it instead" if new_writer else "nobody else could be picked"
    return f"You are excused from the session summary of the class on {day_label(day)}; {instead}."


def replaced_dm(day: date, new_writer: str) -> str:
    return f"You no longer write the session summary of {day_label(day)}: {who(new_writer)} writes it now."


def swap_request_dm(day: date, asker: str) -> str:
    iso = day.isoformat()
    return (
        f"{who(asker)} asks you to write the session summary of the class on {day_label(day)} "
        f"instead. Accept with `/idl rota accept {iso}` or decline with `/idl rota decline {iso}`."
    )


def swap_answer_dm(day: date, other: str, accepted: bool) -> str:
    if accepted:
        return f"{who(other)} accepted: they write the session summary of {day_label(day)} instead of you."
    return f"{who(other)} declined to write the session summary of {day_label(day)}; it is still yours."


def _when(at: datetime | None) -> str:
    return "" if at is None else f"{at:%a} {at:%Y-%m-%d %H:%M}"


def render(upcoming: Sequence[Pick], history: Sequence[tuple[Pick, str | None]], slug_of: str) -> str:
    """`/idl rota`: the next picks (projected until announced) and the history with the
    page there or missing. `slug_of` is the wiki prefix."""
    lines = ["#### Session summaries", "**Next**" if upcoming else "_No class left this term._"]
    for p in upcoming:
        state = "projected" if p.projected or not p.announced else "announced"
        how = {"auto": "", "assigned": ", assigned", "swapped": ", swapped"}[p.how]
        lines.append(f"- {day_label(p.day)}: {who(p.writer)} ({state}{how})")
    if history:
        lines.append("**History**")
    for p, page in history:
        there = f"page {defuse(page)} is there" if page else f"page `{slug_of.strip('/')}/{p.day}` missing"
        lines.append(f"- {day_label(p.day)}: {who(p.writer)}, {there}")
    return "\n".join(lines)
