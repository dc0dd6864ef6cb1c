"""The proposal routine on the reminder planner, with the real SQL stores: one firing
per class, `propose_before` ahead on wall-clock time, none in the Christmas break; each
firing proposes once per team and DMs every active member, and neither a second run, a
restart nor a second process proposes or sends again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.config import Settings
from idlbot.domain.ledger import Student
from idlbot.domain.schedule import class_meetings
from idlbot.domain.settings import PresenterSettings
from idlbot.services.presenters import PresenterRoutine
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.models import OutboxRow
from idlbot.storage.outbox import SqlOutbox
from idlbot.storage.presenters import SqlPresenters
from idlbot.storage.roster import SqlRoster
from tests.reminders.conftest import berlin, make_rig

T0 = datetime(2018, 10, 1, tzinfo=UTC)
TEAMS = {"lyrics-a": ("alice", "bob", "carol"), "lyrics-b": ("dave", "erin")}


def ids_of(student: Student) -> str:
    return ("u-" + student.mattermost).ljust(26, "0")


async def user_ids(students: list[Student]) -> list[tuple[str, str]]:
    return [(ids_of(s), s.mattermost) for s in students if s.mattermost != "erin"]  # erin has no account


async def seed(engine: AsyncEngine) -> None:
    students = [Student(n, team_id=t) for t, names in TEAMS.items() for n in names]
    await SqlRoster(engine).bulk_upsert(students, now=T0)


def routine(engine: AsyncEngine, settings: Settings) -> PresenterRoutine:
    sessions = sessionmaker(engine)
    on = PresenterSettings(enabled=True, propose_before=timedelta(days=2))
    return PresenterRoutine(SqlPresenters(sessions), SqlOutbox(sessions), user_ids, settings.course, on)


def test_one_firing_per_class_two_days_ahead_none_in_the_break(settings: Settings) -> None:
    r = routine(create_engine("sqlite+aiosqlite://"), settings)  # planning reads nothing
    planned = list(r.plan(settings.course))
    days = [m.day for m in class_meetings(settings.course)]
    assert [o.ref for o in planned] == [d.isoformat() for d in days]
    assert not any(date(2018, 12, 22) <= d <= date(2019, 1, 6) for d in days)
    by_day = {o.ref: o for o in planned}
    assert by_day["2018-10-17"].fire_at == berlin(2018, 10, 15, 13, 15)
    assert by_day["2018-10-31"].fire_at == berlin(2018, 10, 29, 13, 15)  # after the DST change: 13:15 CET
    assert all(o.deadline is not None and o.fire_at + o.grace == o.deadline for o in planned)
    assert len({o.key for o in planned}) == len(planned)


async def test_a_firing_proposes_once_per_team_and_dms_every_member(db_url: str, settings: Settings) -> None:
    engine = create_engine(db_url)
    try:
        await seed(engine)
        r = routine(engine, settings)
        rig = make_rig(engine, settings, routines={r.name: r})
        first = await rig.scheduler.run_due(berlin(2018, 10, 15, 13, 15))
        assert ("rem:presenters:2018-10-17", "sent") in first
        again = make_rig(engine, settings, routines={r.name: routine(engine, settings)})  # a restart
        assert "rem:presenters:2018-10-17" not in dict(
            await again.scheduler.run_due(berlin(2018, 10, 15, 14))
        )
        occurrence = next(o for o in r.plan(settings.course) if o.ref == "2018-10-17")
        await routine(engine, settings).fire(occurrence, berlin(2018, 10, 15, 13, 20))  # a second process
        async with engine.connect() as conn:
            rows = (await conn.execute(select(OutboxRow).order_by(OutboxRow.key))).all()
        team_a = [r_ for r_ in rows if ":lyrics-a:" in r_.key]
        assert sorted(r_.dm_user_id for r_ in team_a) == sorted(ids_of(Student(n)) for n in TEAMS["lyrics-a"])
        assert len({r_.message for r_ in team_a}) == 1
        assert [r_.dm_user_id for r_ in rows if ":lyrics-b:" in r_.key] == [ids_of(Student("dave"))]
        assert all(r_.key.startswith("rem:presenters:2018-10-17:") for r_ in rows)
        record = await SqlPresenters(sessionmaker(engine)).team("lyrics-a")
        assert len(record.proposals) == 1
        proposed = record.proposals[0].student
        assert f"proposed to present is @\u200b{proposed}." in team_a[0].message
        log = {x.key: x for x in await rig.store.log()}
        assert log["rem:presenters:2018-10-17"].reason is not None
        assert "proposed a presenter for 2 of 2 teams" in log["rem:presenters:2018-10-17"].reason
    finally:
        await engine.dispose()
