"""Acceptance: a whole simulated semester of the example course on a fake
clock produces exactly the posts in golden_2018.txt (reviewed by hand: no question
reminders on 2018-12-25 / 2019-01-01, Tue 12:00 stays 12:00 across 2018-10-28, every
reminder once). Regenerate with IDLBOT_REGEN_GOLDEN=1 and review the diff."""

from __future__ import annotations

import os
import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.config import Settings
from idlbot.domain.ledger import Student
from idlbot.domain.schedule import class_meetings
from idlbot.ports.routines import Routine
from idlbot.services.presenters import PresenterRoutine
from idlbot.storage.db import create_engine, sessionmaker, upgrade
from idlbot.storage.models import OutboxRow
from idlbot.storage.outbox import SqlOutbox
from idlbot.storage.presenters import SqlPresenters
from tests.reminders import semester_routines
from tests.reminders.conftest import BERLIN, FakeRoster, channel_id_of, make_rig, user_id
from tests.reminders.semester_rota import check_summaries, summaries

GOLDEN = Path(__file__).with_name("golden_2018.txt")


def _roster() -> FakeRoster:
    """student1 hands in everything, student2 the odd assignments, student3 nothing;
    student3 muted the nudges in week 1. student4 and student5 (the second project team)
    hand in everything too; the hand-in nudges go to student1..3 only."""
    hand_ins = {(user_id(k), f"a{n:02d}") for n in range(1, 9) for k in (1, 4, 5)}
    hand_ins |= {(user_id(2), f"a{n:02d}") for n in range(1, 9, 2)}
    return FakeRoster(n=3, hand_ins=hand_ins)


def _presenters(engine: AsyncEngine, settings: Settings) -> dict[str, Routine]:
    """The presenter rota on the test database, the example's two teams on the roster
    (semester_routines.seed): lyrics-a is student1..3, lyrics-b student4..5 (DMs to
    `user_id(n)`); nobody is recorded as having presented, so the rota proposes by the
    proposal counts alone."""

    async def dm_ids(students: list[Student]) -> list[tuple[str, str]]:
        return [(user_id(int(s.mattermost.removeprefix("student"))), s.mattermost) for s in students]

    sessions = sessionmaker(engine)
    rota = PresenterRoutine(
        SqlPresenters(sessions), SqlOutbox(sessions), dm_ids, settings.course, settings.presenters
    )
    return {rota.name: rota}


async def _semester(url: str, settings: Settings) -> list[str]:
    await upgrade(url)
    engine = create_engine(url)
    try:
        roster = _roster()
        await semester_routines.seed(engine, settings, roster)
        rota, after = summaries(engine, settings)
        routines = semester_routines.routines(engine, settings, roster) | _presenters(engine, settings)
        rig = make_rig(engine, settings, roster, routines | {rota.name: rota})
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
        message = row.message.replace("\n", "\\n")  # a multi-line post (a digest) stays one line
        lines.append(f"{at:%a %Y-%m-%d %H:%M} {at.tzname()} {target} {message}")
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
    nudges = [ln for ln in lines if " @u" in ln and "no hand-in from you yet" in ln]
    assert len(nudges) == 4  # student2 misses a02/a04/a06/a08; student3 muted; student1 handed in
    assert all(user_id(2) in ln for ln in nudges)
    _blog_nudges_and_warnings_as_reviewed(lines)
    check_summaries(lines)


def test_golden_presenter_proposals(settings: Settings) -> None:
    """One proposal per team and class from [presenters] start (24 Oct: none before the
    teams exist), to every member, two days before the class at its wall-clock time; none in
    the Christmas break; everybody proposed before anybody twice."""
    lines = [ln for ln in GOLDEN.read_text().splitlines() if "**Progress report, class on " in ln]
    found = re.compile(
        r"^(\w{3} \S+ \S+) \S+ @(\S+) \*\*Progress report, class on (\w{3} \d\d \w{3} \d{4}), (Team \w)"
        r".*proposed to present is @\u200b(student\d)\."
    )
    picks: dict[tuple[str, str], set[str]] = {}
    told: Counter[tuple[str, str]] = Counter()
    for line in lines:
        m = found.match(line)
        assert m is not None, line
        sent, _user, day, team, who = m.groups()
        assert sent.endswith("13:15") and sent.startswith("Mon ")  # Wednesday 13:15, two days ahead
        picks.setdefault((day, team), set()).add(who)
        told[(day, team)] += 1
    first = settings.presenters.start or settings.course.start
    classes = [m.day for m in class_meetings(settings.course) if m.day >= first]
    assert {_day(d) for d, _ in picks} == set(classes)  # every class from [presenters] start
    assert all(len(who) == 1 for who in picks.values())  # one proposal per team and class
    assert {n for (_, team), n in told.items() if team == "Team A"} == {3}  # every member told once
    assert {n for (_, team), n in told.items() if team == "Team B"} == {2}
    assert not any(date(2018, 12, 22) <= _day(d) <= date(2019, 1, 6) for d, _ in picks)
    for team, size in (("Team A", 3), ("Team B", 2)):
        order = [next(iter(picks[(d, t)])) for d, t in sorted(picks, key=lambda k: _day(k[0])) if t == team]
        for start in range(0, len(order) - size + 1, size):
            assert len(set(order[start : start + size])) == size, order  # a full round before repeats


def _day(text: str) -> date:
    return datetime.strptime(text, "%a %d %b %Y").replace(tzinfo=UTC).date()


def _blog_nudges_and_warnings_as_reviewed(lines: list[str]) -> None:
    """student2 is nudged on the Sundays of the weeks without a post (odd weeks), at
    18:00, once each, never in the Christmas break; student1 blogs weekly, student3 muted
    the nudges. Each warning once, a few minutes after the due time that caused it."""
    blog = [ln.split()[:5] for ln in lines if "**Learning blog:**" in ln]
    assert blog and len(blog) == len({(b[1], b[4]) for b in blog})  # once per student-week
    assert {b[4] for b in blog} == {f"@{user_id(2)}"}
    assert {(b[0], b[2]) for b in blog} == {("Sun", "18:00")}
    assert not [b for b in blog if "2018-12-22" <= b[1] <= "2019-01-06"]
    assert [b[1] for b in blog] == [
        "2018-10-21", "2018-11-04", "2018-11-18", "2018-12-02", "2018-12-16", "2019-01-13", "2019-01-27",
    ]  # fmt: skip
    warned = [
        (ln.split()[1], ln.split()[2], ln.split()[4], ln) for ln in lines if "**Exam qualification:**" in ln
    ]
    assert [(d, t, u) for d, t, u, _ in warned] == [
        ("2018-10-17", "00:04", f"@{user_id(3)}"),  # a01 missed
        ("2018-10-24", "00:04", f"@{user_id(2)}"),  # a02 missed
        ("2018-10-24", "00:04", f"@{user_id(3)}"),
        ("2018-11-07", "00:04", f"@{user_id(2)}"),  # a04 missed
    ]
    assert ["miss no more" in w[3] for w in warned] == [True, True, False, False]
    assert all("no longer qualify" in w[3] for w in warned[2:])
    digests = [ln.split()[:5] for ln in lines if "**At-risk students" in ln]
    assert len(digests) == len({(d[1], d[4]) for d in digests})
    assert {(d[0], d[2]) for d in digests} == {("Mon", "08:00")}
    assert not [d for d in digests if "2018-12-22" <= d[1] <= "2019-01-06"]
    assert {d[4] for d in digests if d[1] == "2018-10-15"} == {"@staff-sstober", "@staff-jens"}
