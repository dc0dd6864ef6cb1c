"""Singleton passes with several replicas (two `Periodic`s on one database, FakeClock):
one runs each pass, the other takes it over one TTL (+ a renewal) after the holder dies,
a clean stop hands it over at once, and a lone replica runs everything at once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.clock import FakeClock
from idlbot.scheduling.periodic import Pass, Periodic
from idlbot.storage.db import sessionmaker
from idlbot.storage.leases import SqlLeases

T0 = datetime(2018, 10, 23, 9, 0, tzinfo=UTC)
TTL = 20.0


class Runs:
    def __init__(self) -> None:
        self.by: Counter[tuple[str, str]] = Counter()

    def pass_(self, replica: str, name: str) -> Pass:
        async def work(now: datetime) -> None:
            self.by[(replica, name)] += 1

        return work


def replica(engine: AsyncEngine, clock: FakeClock, name: str, runs: Runs) -> Periodic:
    periodic = Periodic(clock, leases=SqlLeases(sessionmaker(engine)), replica=name, lease_ttl=TTL)
    periodic.every("announcements", 15, runs.pass_(name, "announcements"), singleton=True)
    periodic.every("gitlab reconciliation", 600, runs.pass_(name, "gitlab reconciliation"), singleton=True)
    periodic.every("local", 15, runs.pass_(name, "local"))  # not a singleton: every replica
    return periodic


async def test_a_lone_replica_runs_every_pass_at_once(engine: AsyncEngine) -> None:
    clock, runs = FakeClock(T0), Runs()
    a = replica(engine, clock, "a", runs)
    assert sorted(await a.run_due(T0)) == ["announcements", "gitlab reconciliation", "local"]
    assert runs.by == Counter(
        {("a", "announcements"): 1, ("a", "gitlab reconciliation"): 1, ("a", "local"): 1}
    )
    assert a.held() == ["announcements", "gitlab reconciliation"]


async def test_two_replicas_run_each_singleton_once_and_the_survivor_takes_over(engine: AsyncEngine) -> None:
    clock, runs = FakeClock(T0), Runs()
    a, b = replica(engine, clock, "a", runs), replica(engine, clock, "b", runs)
    await a.run_due(T0)
    await b.run_due(T0)
    assert runs.by == Counter({("a", "announcements"): 1, ("a", "gitlab reconciliation"): 1,
                               ("a", "local"): 1, ("b", "local"): 1})  # fmt: skip
    assert b.held() == []
    for step in range(1, 13):  # a minute, a renewal every 5 s on both
        now = T0 + timedelta(seconds=5 * step)
        clock.set(now)
        await a.run_due(now)
        await b.run_due(now)
    assert (
        runs.by[("b", "announcements")] == 0 and runs.by[("a", "announcements")] == 5
    )  # 0, 15, 30, 45, 60 s
    # "a" is killed: it renews nothing from here on; "b" keeps ticking every 5 s
    killed, takeover = clock.now(), None
    for step in range(1, 10):
        now = killed + timedelta(seconds=5 * step)
        clock.set(now)
        await b.run_due(now)
        if b.held() == ["announcements", "gitlab reconciliation"]:
            takeover = now - killed
            break
    assert takeover is not None and takeover <= timedelta(seconds=TTL + TTL / 4)
    # taken over: both passes ran at once, the 10-minute one too (a may have died before it)
    assert runs.by[("b", "announcements")] == 1 and runs.by[("b", "gitlab reconciliation")] == 1


async def test_a_clean_stop_hands_the_leases_over_at_the_next_renewal(engine: AsyncEngine) -> None:
    clock, runs = FakeClock(T0), Runs()
    a, b = replica(engine, clock, "a", runs), replica(engine, clock, "b", runs)
    await a.run_due(T0)
    await b.run_due(T0)
    await a.stop()
    now = T0 + timedelta(seconds=5)
    clock.set(now)
    await b.run_due(now)
    assert b.held() == ["announcements", "gitlab reconciliation"]
    assert runs.by[("b", "announcements")] == 1


async def test_without_a_lease_port_singletons_simply_run(engine: AsyncEngine) -> None:
    clock, runs = FakeClock(T0), Runs()
    periodic = Periodic(clock)
    periodic.every("pruning", 3600, runs.pass_("solo", "pruning"), singleton=True)
    assert await periodic.run_due(T0) == ["pruning"]
    assert periodic.held() == ["pruning"]
