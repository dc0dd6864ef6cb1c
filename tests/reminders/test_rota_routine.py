"""The session-summary rota as a routine on the reminder planner: announced with its DM
the day before class, picked once (also by two processes), the writer reminded and the
instructors alerted only while the page is missing; staff and swap actions DM once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.config import Settings
from idlbot.domain.errors import Forbidden, UserError
from tests.reminders.conftest import Rig, berlin, channel_id_of, make_rig, user_id
from tests.reminders.rota_support import RotaRig, make_rota, page, queued, students

OCT24 = date(2018, 10, 24)


def rigs(engine: AsyncEngine, settings: Settings, n: int = 3) -> tuple[RotaRig, Rig]:
    rota = make_rota(engine, settings, students(n))
    return rota, make_rig(engine, settings, routines={rota.routine.name: rota.routine})


async def test_the_plan_follows_the_classes_and_skips_the_break(
    engine: AsyncEngine, settings: Settings
) -> None:
    _, rig = rigs(engine, settings)
    planned = await rig.runner.planned(datetime(2018, 10, 1, tzinfo=UTC), datetime(2019, 3, 1, tzinfo=UTC))
    mine = [o for o in planned if o.key.startswith("rem:summaries:")]
    announce = [o for o in mine if o.key.endswith(":announce")]
    assert announce[0].key == "rem:summaries:2018-10-10:announce"
    assert announce[0].fire_at == berlin(2018, 10, 9, 13, 15)
    assert not any("2018-12-26" in o.key or "2019-01-02" in o.key for o in mine)
    alert = next(o for o in mine if o.key == "rem:summaries:2018-12-19:alert")
    assert alert.fire_at == berlin(2019, 1, 9, 13, 15)  # the first class after the break
    remind = next(o for o in mine if o.key == "rem:summaries:2018-12-19:remind")
    assert remind.fire_at == berlin(2019, 1, 8, 18, 0)
    last = announce[-1].ref
    assert not any(o.ref == last and not o.key.endswith(":announce") for o in mine)


async def test_announce_posts_once_and_dms_the_writer(engine: AsyncEngine, settings: Settings) -> None:
    rota, rig = rigs(engine, settings)
    at = berlin(2018, 10, 23, 13, 15)
    outcomes = dict(await rig.scheduler.run_due(at))
    assert outcomes["rem:summaries:2018-10-24:announce"] == "sent"
    await rig.scheduler.run_due(berlin(2018, 10, 23, 13, 20))
    pick = (await rota.service.store.picks())[OCT24]
    assert pick.announced and pick.how == "auto"
    posts = await queued(engine, "rem:summaries:2018-10-24:announce")
    assert [(c, d) for _, c, d, _ in posts] == [
        (channel_id_of("town-square"), None),
        (None, user_id(int(pick.writer.removeprefix("student")))),
    ]
    assert "@\u200b" + pick.writer in posts[0][3] and "summaries/2018-10-24" in posts[1][3]
    assert "Wed 2018-10-31 13:15" in posts[1][3]  # the recap, at the next class


async def test_two_processes_announce_one_writer(engine: AsyncEngine, settings: Settings) -> None:
    first, _ = rigs(engine, settings)
    second, _ = rigs(engine, settings)
    occ = next(o for o in first.routine.plan(settings.course) if o.key == "rem:summaries:2018-10-24:announce")
    at = berlin(2018, 10, 23, 13, 15)
    await asyncio.gather(first.routine.fire(occ, at), second.routine.fire(occ, at))
    assert len(await queued(engine, "rem:summaries:2018-10-24:announce")) == 2  # one post, one DM


async def test_reminder_and_alert_only_while_the_page_is_missing(
    engine: AsyncEngine, settings: Settings
) -> None:
    rota, rig = rigs(engine, settings)
    await rig.scheduler.run_due(berlin(2018, 10, 16, 13, 15))  # announce 10-17
    await rig.scheduler.run_due(berlin(2018, 10, 23, 13, 15))  # announce 10-24
    picks = await rota.service.store.picks()
    writer17 = picks[date(2018, 10, 17)].writer
    await rota.service.on_wiki(page("summaries/2018-10-17", writer17, berlin(2018, 10, 20)))
    other = next(s.mattermost for s in rota.students if s.mattermost != picks[OCT24].writer)
    await rota.service.on_wiki(page("summaries/2018-10-24", other, berlin(2018, 10, 25)))  # not the writer's
    await rig.scheduler.run_due(berlin(2018, 10, 23, 18))
    await rig.scheduler.run_due(berlin(2018, 10, 24, 13, 15))
    await rig.scheduler.run_due(berlin(2018, 10, 30, 18))
    await rig.scheduler.run_due(berlin(2018, 10, 31, 13, 15))
    assert await queued(engine, "rem:summaries:2018-10-17:remind") == []
    assert await queued(engine, "rem:summaries:2018-10-17:alert") == []
    [reminder] = await queued(engine, "rem:summaries:2018-10-24:remind")
    assert "not on the wiki yet" in reminder[3]
    alerts = await queued(engine, "rem:summaries:2018-10-24:alert")
    assert len(alerts) == 2 and all("still missing" in a[3] for a in alerts)  # sstober, jens


async def test_assign_excuse_and_swap_tell_each_change_once(engine: AsyncEngine, settings: Settings) -> None:
    rota, _ = rigs(engine, settings, n=4)
    svc, now = rota.service, berlin(2018, 10, 22, 9)
    done = await svc.assign(OCT24, "student2", by="sstober", now=now)
    assert done.pick is not None and done.pick.writer == "student2" and done.pick.how == "assigned"
    again = await svc.assign(OCT24, "student2", by="jens", now=now)
    assert again.note == "already"
    with pytest.raises(Forbidden, match="Only the writer"):
        await svc.swap(OCT24, "student1", "student3", now=now)
    await svc.swap(OCT24, "student2", "student3", now=now)
    with pytest.raises(UserError, match="No swap"):
        await svc.answer(OCT24, "student4", accept=True, now=now)
    accepted = await svc.answer(OCT24, "student3", accept=True, now=now)
    assert accepted.pick is not None and (accepted.pick.writer, accepted.pick.how) == ("student3", "swapped")
    excused = await svc.excuse("student3", OCT24, by="sstober", now=now)
    assert excused.pick is not None and excused.pick.writer not in ("student3", "")
    assert set(excused.told) == {"student3", excused.pick.writer}
    with pytest.raises(UserError, match="already started"):
        await svc.assign(date(2018, 10, 17), "student1", by="sstober", now=now)
    with pytest.raises(UserError, match="not an active student"):
        await svc.assign(OCT24, "sstober", by="sstober", now=now)
    keys = [k for k, *_ in await queued(engine, "rota:")]
    assert len(keys) == len(set(keys)) == 5  # assigned, asked, answered, excused, new writer
