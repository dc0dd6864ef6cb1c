"""The periodic scheduler on a FakeClock: `run_due` is exact, no pass overlaps itself, a
failing pass stops nothing else, and the driver hands over to `run_due` when the clock
does not flow. One test runs the driver on a clock that flows (the event loop's), with
intervals of a few milliseconds, because timing passes on such a clock is its whole job."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from idlbot.adapters.gitlab.client import GitLabError
from idlbot.clock import FakeClock
from idlbot.scheduling.periodic import Pass, Periodic

T0 = datetime(2018, 10, 23, 9, 0, tzinfo=UTC)


class Log:
    """Passes that record when they ran."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, datetime]] = []

    def counts(self) -> Counter[str]:
        return Counter(name for name, _ in self.runs)

    def pass_(self, name: str) -> Pass:
        async def work(now: datetime) -> None:
            self.runs.append((name, now))

        return work


async def until(check: Callable[[], object], what: str) -> None:
    """Let the loop run until `check()` holds (the driver acts in tasks of its own)."""
    try:
        async with asyncio.timeout(2):
            while True:
                if check():
                    return
                await asyncio.sleep(0.001)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


async def test_run_due_runs_what_is_due_once_and_then_after_each_interval(clock: FakeClock) -> None:
    log = Log()
    periodic = Periodic(clock)
    periodic.every("fast", 15, log.pass_("fast"))
    periodic.every("slow", 600, log.pass_("slow"))
    periodic.every("later", 60, log.pass_("later"), at_start=False)
    assert sorted(await periodic.run_due(clock.now())) == ["fast", "slow"]
    assert log.runs == [("fast", T0), ("slow", T0)] or log.runs == [("slow", T0), ("fast", T0)]
    assert await periodic.run_due(clock.now()) == []  # nothing is due twice
    clock.advance(seconds=14)
    assert await periodic.run_due(clock.now()) == []
    clock.advance(seconds=1)
    assert await periodic.run_due(clock.now()) == ["fast"]
    clock.advance(seconds=45)
    assert sorted(await periodic.run_due(clock.now())) == ["fast", "later"]
    assert periodic.next_due("later") == T0 + timedelta(seconds=120)
    assert log.counts() == {"fast": 3, "slow": 1, "later": 1}


async def test_the_interval_counts_from_the_end_of_a_run(clock: FakeClock) -> None:
    periodic = Periodic(clock)

    async def slow(now: datetime) -> None:
        clock.advance(seconds=10)  # the pass itself took 10 s

    periodic.every("slow", 60, slow)
    await periodic.run_due(clock.now())
    assert periodic.next_due("slow") == T0 + timedelta(seconds=70)


async def test_an_outside_system_down_is_one_warning_line_without_a_traceback(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """GitLab or Slurm being unreachable is an outage, not a bug: the operator reads one
    line that names the pass and the system's answer, and the pass is tried again."""
    periodic = Periodic(clock)

    async def gitlab_down(now: datetime) -> None:
        raise GitLabError(None, "ConnectionError", True)

    periodic.every("agenda reconciliation", 300, gitlab_down)
    with caplog.at_level(logging.INFO, logger="idlbot.scheduling.periodic"):
        await periodic.run_due(clock.now())
    [record] = caplog.records
    assert record.levelno == logging.WARNING and not record.exc_info
    assert record.getMessage() == (
        "agenda reconciliation pass failed (network: ConnectionError); next try in 300 s"
    )


async def test_a_failing_pass_is_logged_by_name_and_stops_nothing(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    log = Log()
    periodic = Periodic(clock)

    async def broken(now: datetime) -> None:
        raise RuntimeError("sacct is not there")

    periodic.every("job poll", 30, broken)
    periodic.every("announcements", 30, log.pass_("announcements"))
    with caplog.at_level(logging.ERROR, logger="idlbot.scheduling.periodic"):
        assert sorted(await periodic.run_due(clock.now())) == ["announcements", "job poll"]
    assert log.counts() == {"announcements": 1}
    [record] = caplog.records
    assert record.getMessage() == "job poll pass failed; next try in 30 s" and record.exc_info
    assert periodic.next_due("job poll") == T0 + timedelta(seconds=30)  # not retried at once
    clock.advance(seconds=30)
    assert sorted(await periodic.run_due(clock.now())) == ["announcements", "job poll"]


async def test_a_pass_never_overlaps_itself_and_a_caller_gets_a_run_of_its_own(clock: FakeClock) -> None:
    periodic = Periodic(clock)
    release = asyncio.Event()
    running = 0
    most = 0
    runs = 0

    async def gated(now: datetime) -> None:
        nonlocal running, most, runs
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1
        runs += 1

    periodic.every("gitlab reconciliation", 600, gated)
    first = asyncio.create_task(periodic.run_due(clock.now()))
    await until(lambda: running == 1, "the first run to start")
    # not due by the clock, but running: it may predate what the caller changed
    second = asyncio.create_task(periodic.run_due(clock.now()))
    await asyncio.sleep(0)
    assert running == 1
    release.set()
    assert await first == ["gitlab reconciliation"]
    assert await second == ["gitlab reconciliation"]
    assert (runs, most) == (2, 1)


async def test_a_clock_set_back_does_not_postpone_a_pass(clock: FakeClock) -> None:
    log = Log()
    periodic = Periodic(clock)
    periodic.every("maintenance", 15, log.pass_("maintenance"))
    await periodic.run_due(clock.now())
    clock.set(T0 - timedelta(hours=1))
    assert await periodic.run_due(clock.now()) == ["maintenance"]
    assert await periodic.run_due(clock.now()) == []


async def test_run_now_runs_the_named_passes_whether_due_or_not(clock: FakeClock) -> None:
    log = Log()
    periodic = Periodic(clock)
    periodic.every("a", 60, log.pass_("a"))
    periodic.every("b", 60, log.pass_("b"))
    await periodic.run_due(clock.now())
    assert await periodic.run_now("b") == ["b"]
    assert sorted(await periodic.run_now()) == ["a", "b"]
    assert log.counts() == {"a": 2, "b": 3}
    with pytest.raises(KeyError, match="no pass named c"):
        await periodic.run_now("c")


def test_registration_is_checked(clock: FakeClock) -> None:
    periodic = Periodic(clock)
    periodic.every("a", 1, Log().pass_("a"))
    with pytest.raises(ValueError, match="already registered"):
        periodic.every("a", 1, Log().pass_("a"))
    with pytest.raises(ValueError, match="must be positive"):
        periodic.every("b", 0, Log().pass_("b"))
    assert periodic.names == ["a"]


async def test_on_a_fake_clock_the_driver_runs_the_start_passes_then_leaves_the_rest_to_run_due(
    clock: FakeClock,
) -> None:
    log = Log()
    periodic = Periodic(clock, probe=0.001)
    periodic.every("announcements", 15, log.pass_("announcements"))
    periodic.every("reconcile", 600, log.pass_("reconcile"), at_start=False)
    driver = asyncio.create_task(periodic.run())
    await until(lambda: periodic.manual, "the driver to see that the clock stands still")
    assert log.counts() == {"announcements": 1}
    clock.advance(seconds=600)
    await asyncio.sleep(0)
    assert log.counts() == {"announcements": 1}  # the test, not the driver, runs what is now due
    assert sorted(await periodic.run_due(clock.now())) == ["announcements", "reconcile"]
    clock.advance(seconds=15)
    periodic.wake()  # woken, it starts what is due, once
    await until(lambda: log.counts()["announcements"] == 3, "the woken driver's pass")
    assert not driver.done()
    await periodic.stop()
    await asyncio.wait_for(driver, 1)


async def test_stop_cancels_a_pass_in_flight_and_ends_the_driver(clock: FakeClock) -> None:
    periodic = Periodic(clock, probe=0.001)
    started = asyncio.Event()
    cancelled = asyncio.Event()
    starts = 0

    async def hangs(now: datetime) -> None:
        nonlocal starts
        starts += 1
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    periodic.every("hangs", 15, hangs)
    driver = asyncio.create_task(periodic.run())
    await asyncio.wait_for(started.wait(), 1)
    await periodic.stop()
    assert cancelled.is_set()
    await asyncio.wait_for(driver, 1)
    assert await periodic.run_due(clock.now() + timedelta(hours=1)) == []  # stopped for good
    assert starts == 1


async def test_stop_lets_a_pass_in_flight_finish_within_the_grace(clock: FakeClock) -> None:
    """ "Finish, then cancel": a pass in the middle of its database writes is not cut off
    when it ends within the grace; one that does not is cancelled when the grace is up."""
    periodic = Periodic(clock, probe=0.001)
    started, release = asyncio.Event(), asyncio.Event()
    finished = False

    async def writes(now: datetime) -> None:
        nonlocal finished
        started.set()
        await release.wait()
        finished = True

    periodic.every("writes", 15, writes)
    driver = asyncio.create_task(periodic.run())
    await asyncio.wait_for(started.wait(), 1)
    stopping = asyncio.create_task(periodic.stop(grace=30))
    await asyncio.sleep(0)
    assert not stopping.done()  # waiting for the pass, not cancelling it
    release.set()
    await asyncio.wait_for(stopping, 1)  # returns as soon as the pass is done, not after 30 s
    assert finished
    await asyncio.wait_for(driver, 1)


async def test_stop_cancels_a_pass_still_running_when_the_grace_is_up(clock: FakeClock) -> None:
    periodic = Periodic(clock, probe=0.001)
    started = asyncio.Event()

    async def hangs(now: datetime) -> None:
        started.set()
        await asyncio.Event().wait()

    periodic.every("hangs", 15, hangs)
    driver = asyncio.create_task(periodic.run())
    await asyncio.wait_for(started.wait(), 1)
    await asyncio.wait_for(periodic.stop(grace=0.01), 1)
    await asyncio.wait_for(driver, 1)


class LoopClock:
    """A clock that flows: the event loop's time, from T0."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._start = self._loop.time()

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self._loop.time() - self._start)

    def monotonic(self) -> float:
        return self._loop.time()


async def test_on_a_flowing_clock_the_driver_times_each_pass() -> None:
    log = Log()
    periodic = Periodic(LoopClock())
    periodic.every("often", 0.005, log.pass_("often"))
    periodic.every("rarely", 3600, log.pass_("rarely"))
    driver = asyncio.create_task(periodic.run())
    await until(lambda: log.counts()["often"] >= 4, "four runs of the frequent pass")
    assert not periodic.manual and log.counts()["rarely"] == 1
    runs = [when for name, when in log.runs if name == "often"]
    assert all(b - a >= timedelta(seconds=0.005) for a, b in itertools.pairwise(runs))
    await periodic.stop()
    await asyncio.wait_for(driver, 1)
