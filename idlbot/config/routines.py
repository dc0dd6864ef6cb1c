"""The tables of the learning-blog nudge and the early warnings: `[blog_nudge]`, `[warnings]`.

Kept out of `schema.py`/`build.py` so each course routine owns its table. Both are
opt-in: an absent table means the feature is off (`defaults.py` says so in the summary
line); a present table is on unless it says `enabled = false`. Times are written like the
agenda's cutoff, "sun 18:00": a weekday and a wall-clock time in the course zone.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import with_config

from idlbot.config.fields import Cutoff, Flag, WeeklyTime
from idlbot.config.values import TABLE
from idlbot.domain.blog_nudge import BlogNudgeSettings
from idlbot.domain.early_warnings import WarningSettings

__all__ = ["BlogNudgeFile", "WarningsFile", "blog_nudge_settings", "warning_settings"]


_NUDGE_AT = WeeklyTime(BlogNudgeSettings.weekday, BlogNudgeSettings.at)  # "sun 18:00"
_DIGEST_AT = WeeklyTime(WarningSettings.digest_weekday, WarningSettings.digest_at)  # "mon 08:00"


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class BlogNudgeFile:
    enabled: Flag = True
    at: Cutoff = _NUDGE_AT


@with_config(TABLE)
@dataclass(frozen=True, kw_only=True)
class WarningsFile:
    enabled: Flag = True
    students: Flag = WarningSettings.students
    digest: Cutoff = _DIGEST_AT
    digest_enabled: Flag = WarningSettings.digest_enabled


def blog_nudge_settings(given: BlogNudgeFile | None, *, absent: bool) -> BlogNudgeSettings:
    if absent or given is None:
        return BlogNudgeSettings()
    return BlogNudgeSettings(enabled=given.enabled, weekday=given.at.weekday, at=given.at.at)


def warning_settings(given: WarningsFile | None, *, absent: bool) -> WarningSettings:
    if absent or given is None:
        return WarningSettings()
    return WarningSettings(
        enabled=given.enabled,
        students=given.students,
        digest_enabled=given.digest_enabled,
        digest_weekday=given.digest.weekday,
        digest_at=given.digest.at,
    )
