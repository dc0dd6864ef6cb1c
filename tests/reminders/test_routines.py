"""Course routines ride on the reminder planner: planned with the reminders, claimed
once per key, fired on the fake clock, and recorded like any reminder."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from idlbot.config import Settings
from idlbot.domain.course import Course
from idlbot.domain.reminders import Occurrence, Target
from idlbot.ports.routines import RoutineResult
from idlbot.services.reminder_firing import DeliveryProblem, fire
from idlbot.storage.db import create_engine, upgrade
from tests.reminders.conftest import berlin, make_rig


class Counting:
    """Two firings a term; queues one DM per firing under the firing's key."""

    name = "counting"

    def __init__(self, *, broken: bool = False) -> None:
        self.fired: list[str] = []
        self.broken = broken

    def plan(self, course: Course) -> Iterable[Occurrence]:
        for day in (berlin(2018, 10, 17, 9), berlin(2018, 10, 24, 9)):
            yield Occurrence(
                key=f"rem:counting:{day.date().isoformat()}",
                kind="routine",
                fire_at=day,
                target=Target("routine", self.name),
                text="",
                grace=timedelta(hours=1),
                deadline=day + timedelta(hours=3),
            )

    async def fire(self, occurrence: Occurrence, now: datetime) -> RoutineResult:
        if self.broken:
            raise DeliveryProblem("nobody to tell")
        self.fired.append(occurrence.key)
        return RoutineResult(None, 1, "told one")


async def test_a_routine_is_planned_and_fired_once_per_firing(db_url: str, settings: Settings) -> None:
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        routine = Counting()
        rig = make_rig(engine, settings, routines={routine.name: routine})
        planned = await rig.runner.planned(
            datetime(2018, 10, 1, tzinfo=UTC), datetime(2018, 11, 1, tzinfo=UTC)
        )
        assert [o.key for o in planned if o.kind == "routine"] == [
            "rem:counting:2018-10-17",
            "rem:counting:2018-10-24",
        ]
        first = await rig.scheduler.run_due(berlin(2018, 10, 17, 9))
        assert ("rem:counting:2018-10-17", "sent") in first
        again = await rig.scheduler.run_due(berlin(2018, 10, 17, 9, 5))
        assert "rem:counting:2018-10-17" not in [k for k, _ in again]
        assert routine.fired == ["rem:counting:2018-10-17"]
        log = await rig.store.log()
        record = next(r for r in log if r.key == "rem:counting:2018-10-17")
        assert record.target == "counting" and "told one" in (record.reason or "")
    finally:
        await engine.dispose()


async def test_a_routine_that_cannot_deliver_is_recorded_failed(db_url: str, settings: Settings) -> None:
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        rig = make_rig(engine, settings, routines={"counting": Counting(broken=True)})
        outcomes = dict(await rig.scheduler.run_due(berlin(2018, 10, 17, 9)))
        assert outcomes["rem:counting:2018-10-17"] == "failed"
    finally:
        await engine.dispose()


async def test_a_routine_no_longer_configured_fails_visibly(db_url: str, settings: Settings) -> None:
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        routine = Counting()
        rig = make_rig(engine, settings, routines={routine.name: routine})
        occurrence = next(iter(routine.plan(settings.course)))
        without = replace(rig.deps, routines={})  # the config lost the routine since planning
        assert await fire(without, occurrence, berlin(2018, 10, 17, 9)) == "failed"
    finally:
        await engine.dispose()
