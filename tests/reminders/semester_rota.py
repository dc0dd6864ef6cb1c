"""The session-summary rota in the golden semester (test_semester.py): the real routine
and SQL store, students 1..3 (the semester's roster), and summary pages for a third of
the classes by their writer, a third by an instructor (jens), a third missing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.config import Settings
from idlbot.domain.schedule import class_meetings
from idlbot.services.rota_routine import SummaryRota
from tests.reminders.rota_support import make_rota, page, students

BREAK = (date(2018, 12, 22), date(2019, 1, 6))


def summaries(engine: AsyncEngine, settings: Settings) -> tuple[SummaryRota, Callable[..., Awaitable[None]]]:
    """The routine, and what happens after each instant of the semester: right after a
    class's announcement, its page is created (at the end of class) for classes 0, 3, 6...
    by the writer and 2, 5, 8... by jens; 1, 4, 7... stay missing (10 is 2018-12-19, the
    last before the break)."""
    rota = make_rota(engine, settings, students(3))
    meetings = class_meetings(settings.course)
    done: set[date] = set()

    async def after(now: object) -> None:
        for i, m in enumerate(meetings):
            pick = (await rota.service.store.picks()).get(m.day)
            if pick is None or not pick.announced or m.day in done or i % 3 == 1:
                continue
            done.add(m.day)
            author = pick.writer if i % 3 == 0 else "jens"
            await rota.service.on_wiki(page(rota.service.slug(m.day), author, m.end))

    return rota.routine, after


def check_summaries(lines: list[str]) -> None:
    """One announcement per class, none in the break; the writer's reminder and the
    instructors' alert exactly for the classes whose page is missing (1, 4, 7, ...), none
    for the last class (no next class)."""
    announced = [ln for ln in lines if "**Session summary** of the class on" in ln]
    days = [ln.split("class on ")[1].split(":")[0] for ln in announced]
    assert len(days) == len(set(days)) == 16, days
    assert all(" ~town-square " in ln and "Tue" in ln.split()[0] for ln in announced)
    assert not any(BREAK[0].isoformat() <= d.split()[1] <= BREAK[1].isoformat() for d in days)
    writer_dms = [ln for ln in lines if "You write the **session summary**" in ln]
    assert len(writer_dms) == 16 and all(" @u" in ln for ln in writer_dms)
    reminders = [ln for ln in lines if "is not on the wiki yet" in ln]
    missing = [d for i, d in enumerate(days) if i % 3 == 1 and i < len(days) - 1]
    assert [ln.split("class on ")[1].split(" is")[0] for ln in reminders] == missing
    assert all(ln.split()[2] == "18:00" for ln in reminders)
    alerts = [ln for ln in lines if "is still missing" in ln]
    assert len(alerts) == 2 * len(missing)  # sstober and jens, once each
    assert all(ln.split()[2] == "13:15" and ln.split()[0] == "Wed" for ln in alerts)
    assert "Wed 2019-01-09 13:15 CET @id-sstober" in "\n".join(alerts)  # 2018-12-19's, after the break
    assert any(ln.startswith("Tue 2019-01-08 18:00 CET") and "2018-12-19" in ln for ln in reminders)
