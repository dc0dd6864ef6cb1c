"""Acceptance: a whole simulated semester of the example course on a fake
clock produces exactly the posts in golden_2018.txt (reviewed by hand: no question
reminders on 2018-12-25 / 2019-01-01, Tue 12:00 stays 12:00 across 2018-10-28, every
reminder once). Regenerate with IDLBOT_REGEN_GOLDEN=1 and review the diff."""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from idlbot.config import Settings
from idlbot.storage.db import create_engine, upgrade
from idlbot.storage.models import OutboxRow
from tests.reminders.conftest import BERLIN, FakeRoster, channel_id_of, make_rig, user_id
from tests.reminders.semester_rota import check_summaries, summaries

GOLDEN = Path(__file__).with_name("golden_2018.txt")


def _roster() -> FakeRoster:
    """student1 hands in everything, student2 the odd assignments, student3 nothing;
    student3 muted the nudges in week 1."""
    hand_ins = {(user_id(1), f"a{n:02d}") for n in range(1, 9)}
    hand_ins |= {(user_id(2), f"a{n:02d}") for n in range(1, 9, 2)}
    return FakeRoster(n=3, hand_ins=hand_ins)


async def _semester(url: str, settings: Settings) -> list[str]:
    await upgrade(url)
    engine = create_engine(url)
    try:
        rota, after = summaries(engine, settings)
        rig = make_rig(engine, settings, _roster(), routines={rota.name: rota})
        await rig.store.set_muted(user_id(3), "nudges", True, datetime(2018, 10, 10, tzinfo=UTC))
        start, end = datetime(2018, 10, 1, tzinfo=UTC), datetime(2019, 3, 1, tzinfo=UTC)
        instants = sorted({o.fire_at for o in await rig.runner.planned(start, end)})
        for now in instants:  # the fake clock visits every firing, on time
            outcomes = await rig.scheduler.run_due(now)
            assert outcomes and all(o == "sent" for _, o in outcomes), (now, outcomes)
            await after(now)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(OutboxRow).order_by(OutboxRow.id))).all()
    finally:
        await engine.dispose()
    names = {channel_id_of(n): n for n in settings.mattermost.channels.values()}
    names |= {channel_id_of(g.channel): g.channel for g in settings.course.groups if g.channel}
    lines = []
    for row in rows:
        at = row.created_at.astimezone(BERLIN)
        target = f"~{names[row.channel_id]}" if row.channel_id else f"@{row.dm_user_id}"
        lines.append(f"{at:%a %Y-%m-%d %H:%M} {at.tzname()} {target} {row.message}")
    return lines


async def test_semester_matches_the_golden_file(tmp_path: Path, settings: Settings) -> None:
    lines = await _semester(f"sqlite+aiosqlite:///{tmp_path / 'sem.db'}", settings)
    if os.environ.get("IDLBOT_REGEN_GOLDEN") == "1":
        GOLDEN.write_text("\n".join(lines) + "\n")
    assert lines == GOLDEN.read_text().splitlines()


def test_golden_file_holds_what_was_reviewed() -> None:
    lines = GOLDEN.read_text().splitlines()
    assert len(lines) == len(set(lines))  # every post once
    assert not any(" ~questions " in ln and ("2018-12-24" in ln or "2018-12-31" in ln) for ln in lines)
    assert not any(" ~questions " in ln and ("2018-12-25" in ln or "2019-01-01" in ln) for ln in lines)
    questions = [ln for ln in lines if " ~questions " in ln]
    assert {ln.split()[2] for ln in questions} == {"12:00", "10:00"}
    assert "Mon 2018-10-29 12:00 CET ~questions" in "\n".join(questions)
    assert "Tue 2018-10-23 10:00 CEST ~questions" in "\n".join(questions)
    per_day = Counter(ln.split()[1] for ln in questions)
    assert set(per_day.values()) == {1}  # the 24 h one on Monday, the 2 h one on Tuesday
    nudges = [ln for ln in lines if " @u" in ln and "**a0" in ln]
    assert len(nudges) == 4  # student2 misses a02/a04/a06/a08; student3 muted; student1 handed in
    assert all(user_id(2) in ln for ln in nudges)
    check_summaries(lines)
