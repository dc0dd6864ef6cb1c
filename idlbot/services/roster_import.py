"""Importing a roster file: validate the whole file, then write it at once.

The write is one transaction (``RosterWriter.bulk_upsert``), so a file with one bad line
changes nothing. Re-importing an unchanged file is a no-op (all rows "unchanged").
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from idlbot.domain.course import Course
from idlbot.domain.roster import RosterConflict, RosterError, parse_roster
from idlbot.ports.qualification import Progress, RosterCounts, RosterWriter


@dataclass(frozen=True)
class ImportResult:
    """``counts`` is None when nothing was written (``errors`` says why)."""

    counts: RosterCounts | None
    errors: list[RosterError] = field(default_factory=list)


async def import_roster(
    path: str | Path,
    repo: RosterWriter,
    course: Course | None,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate the file and, only if it has no error at all, write it in one transaction."""
    try:
        text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return ImportResult(None, [RosterError(1, f"cannot read {path}: {err}")])
    rows, errors = parse_roster(text, course)
    if errors:
        return ImportResult(None, errors)
    try:
        counts = await repo.bulk_upsert([r.student for r in rows], now=now, progress=progress)
    except RosterConflict as err:
        line_of = {r.student.mattermost: r.line for r in rows}
        found = [RosterError(line_of.get(who, 1), why) for who, why in err.clashes.items()]
        return ImportResult(None, sorted(found, key=lambda e: e.line))
    return ImportResult(counts)
