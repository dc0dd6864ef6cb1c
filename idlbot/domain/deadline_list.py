"""The `/idl deadlines` text, kept for as long as it is exact (see `kept_text`).

`/idl deadlines` is the busiest command, and every student of one group who reads times
in one zone gets the same list; only `now` moves it: when its first occurrence passes
(`upcoming` lists those strictly after `now`), and when a relative time may change
(`timefmt.render_steady_until`). Working the list out anew was a tenth of the command's
CPU under load."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from zoneinfo import ZoneInfo

from idlbot.domain import schedule, timefmt
from idlbot.domain.course import Course
from idlbot.domain.kept_text import KeptTexts

_Key = tuple[Course, int, frozenset[str] | None, ZoneInfo, str]


class DeadlineLists:
    """The kept texts, one per (course, length, groups, zone, zone name)."""

    KEEP = 1024  # groups x zones x lengths in use

    def __init__(self) -> None:
        self._kept: KeptTexts[_Key] = KeptTexts(self.KEEP)

    def text(
        self,
        course: Course,
        *,
        now: datetime,
        limit: int,
        groups: Collection[str] | None,
        tz: ZoneInfo,
        zone_name: str,
    ) -> str:
        """`timefmt.render_deadlines` of `schedule.upcoming`, exactly as if worked out now."""
        key = (course, limit, None if groups is None else frozenset(groups), tz, zone_name)
        kept = self._kept.get(key, now)
        if kept is not None:
            return kept
        listed = schedule.upcoming(course, now=now, limit=limit, groups=groups)
        text = timefmt.render_deadlines(listed, tz, now, zone_name=zone_name)
        until = timefmt.render_steady_until(listed, tz, now)
        if listed:
            until = min(until, listed[0].at)  # then it is no longer strictly after `now`
        return self._kept.put(key, now, until, text)


LISTS = DeadlineLists()
"""The process's kept lists: the command is a function, and its lists do not depend on
anything but their key and `now`."""
