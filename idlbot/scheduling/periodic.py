"""Named periodic passes on the injected clock: the bot's repeatable background work.

The bot re-reads the world on a timer: scheduled announcements and maintenance windows,
the MailProg spool and sacct, the GitLab and agenda reconciliations, the agenda's freeze
check. Each pass is safe to repeat and harmless to run late, so "every N seconds after
the last run ended" is all the timing they need; APScheduler stays with the reminder
alarms (`aps.py`), whose firings have exact instants.

- `every()` registers a pass; with `at_start` it is due at once (every pass the bot has
  catches up on what happened while it was down).
- `run_due(now)` runs each pass due at `now` and returns when they are done; tests drive
  passes with it (or `run_now`) instead of waiting on the wall clock for the next one.
- `run()` is the driver: it starts each pass when due, as a task of its own, so a slow
  GitLab reconciliation never holds up the announcements.
- A pass never overlaps itself. A pass that raises is logged with its name and is due
  again one interval later; the others are unaffected.
- Due times are on `clock.now()`. A clock set back (NTP, a test) would postpone a pass
  by the size of the jump, so a due time more than one interval ahead counts as due.
- A `singleton` pass runs on one replica at a time (several `idlbot run` processes on one
  PostgreSQL): it runs only while this replica holds the lease named after it (the
  `Leases` port, `replica`'s name, `lease_ttl`). Every `lease_ttl / 4` the driver renews
  the leases it holds and tries the others, so when a holder dies (`kill -9`) another
  replica has its leases within `lease_ttl` plus one renewal, and runs those passes at
  once (as at a start: catching up). A lone replica gets every lease at its first try;
  without a `Leases` port every pass simply runs. `stop()` releases the leases.

The two kinds of clock: on a flowing one (SystemClock, ShiftedClock) the driver sleeps
until the next due time, woken early by `wake()`, a pass ending or `stop()`. A FakeClock
only moves when a test moves it: a timed wait that ends with the clock where it was
shows that, and the driver then stops timing passes (it would only race the test, and
waking every interval to find nothing due is pointless) and starts what is due only when
woken. Until the clock has been seen to flow, waits last at most `probe` seconds, so
that is noticed at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from idlbot.clock import Clock
from idlbot.domain.errors import Unavailable
from idlbot.ports.leases import Leases

log = logging.getLogger(__name__)

Pass = Callable[[datetime], Awaitable[object]]
"""One pass: gets the time it runs for (what is due is judged against it)."""


@dataclass(eq=False)
class _Entry:
    name: str
    interval: timedelta
    work: Pass
    next_due: datetime
    singleton: bool = False
    task: asyncio.Task[None] | None = None

    def due(self, now: datetime) -> bool:
        return self.next_due <= now or self.next_due - now > self.interval


class Periodic:
    """The passes of one bot, each under a unique name (its log lines carry it)."""

    def __init__(
        self,
        clock: Clock,
        *,
        probe: float = 0.05,
        leases: Leases | None = None,
        replica: str = "",
        lease_ttl: float = 20.0,
    ) -> None:
        self._clock = clock
        self._probe = probe
        self._entries: dict[str, _Entry] = {}
        self._leases = leases
        self.replica = replica
        self.lease_ttl = timedelta(seconds=lease_ttl)
        self._held: dict[str, datetime] = {}  # lease → until when our last acquire holds it
        self._renew_due: datetime | None = None
        self._renewal: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._flows = False
        self.manual = False  # the driver saw that the clock does not flow (a FakeClock)

    def every(
        self, name: str, seconds: float, work: Pass, *, at_start: bool = True, singleton: bool = False
    ) -> None:
        """Run `work` every `seconds` (counted from the end of its last run); a `singleton`
        only on the replica holding the lease `name`."""
        if seconds <= 0:
            raise ValueError(f"pass {name!r}: the interval must be positive, not {seconds}")
        if name in self._entries:
            raise ValueError(f"a pass named {name!r} is already registered")
        interval = timedelta(seconds=seconds)
        now = self._clock.now()
        self._entries[name] = _Entry(name, interval, work, now if at_start else now + interval, singleton)
        if singleton and self._leases is not None and self._renew_due is None:
            self._renew_due = now
        self._wake.set()

    @property
    def names(self) -> list[str]:
        return list(self._entries)

    def next_due(self, name: str) -> datetime:
        return self._entries[name].next_due

    @property
    def renew_every(self) -> timedelta:
        return self.lease_ttl / 4

    def held(self, now: datetime | None = None) -> list[str]:
        """The singleton passes whose lease this replica holds (at `now`, default the clock)."""
        at = self._clock.now() if now is None else now
        singletons = [e.name for e in self._entries.values() if e.singleton]
        if self._leases is None:
            return singletons
        return [name for name in singletons if self._held.get(name, at) > at]

    @property
    def singletons(self) -> list[str]:
        return [e.name for e in self._entries.values() if e.singleton]

    async def _hold(self, name: str, now: datetime) -> bool:
        """Acquire or renew the lease `name`; False (and forgotten) if another replica
        holds it or the database cannot say (then nobody here runs the pass)."""
        if self._leases is None:
            return True
        try:
            got = await self._leases.acquire(name, self.replica, now, self.lease_ttl)
        except Exception as exc:  # noqa: BLE001 - a database outage: skip, try again later
            log.warning("lease %r: could not renew (%s); the pass waits", name, type(exc).__name__)
            got = False
        if got:
            if name not in self._held:
                log.info("replica %s holds the lease %r", self.replica, name)
            self._held[name] = now + self.lease_ttl
        elif self._held.pop(name, None) is not None:
            log.warning("replica %s lost the lease %r", self.replica, name)
        return got

    async def renew(self, now: datetime) -> None:
        """Renew the leases held, try the others; a pass whose lease was just taken over
        is due at once (its last holder may have died before running it)."""
        for entry in list(self._entries.values()):
            if not entry.singleton:
                continue
            had = entry.name in self._held
            if await self._hold(entry.name, now) and not had and entry.task is None:
                entry.next_due = min(entry.next_due, now)
        self._renew_due = self._clock.now() + self.renew_every

    def _renewal_due(self, now: datetime) -> bool:
        due = self._renew_due
        return due is not None and (due <= now or due - now > self.renew_every)

    async def _renew_in_background(self, now: datetime) -> None:
        try:
            await self.renew(now)
        finally:
            self._renewal = None
            if not self.manual:
                self._wake.set()

    async def run_due(self, now: datetime) -> list[str]:
        """Run every pass due at `now`, each once, concurrently; the names run. A pass the
        driver is running counts as due: it may have started before the caller changed
        the world, so it is awaited and then run again. Nothing runs after `stop()`."""
        if self._stopping:
            return []
        while self._renewal is not None:
            await asyncio.wait({self._renewal})
        if self._renewal_due(now):
            await self.renew(now)
        chosen = [e for e in self._entries.values() if e.task is not None or e.due(now)]
        await asyncio.gather(*(self._run_fresh(e, now) for e in chosen))
        return [e.name for e in chosen]

    async def run_now(self, *names: str) -> list[str]:
        """Run the named passes (all when none is named) once now, due or not."""
        if self._stopping:
            return []
        unknown = [n for n in names if n not in self._entries]
        if unknown:
            raise KeyError(f"no pass named {', '.join(unknown)}; there are {', '.join(self._entries)}")
        chosen = [self._entries[n] for n in names] if names else list(self._entries.values())
        now = self._clock.now()
        await asyncio.gather(*(self._run_fresh(e, now) for e in chosen))
        return [e.name for e in chosen]

    async def _run_fresh(self, entry: _Entry, now: datetime) -> None:
        """One run that starts within this call, after the run in flight (if any) ended."""
        while entry.task is not None:
            await asyncio.wait({entry.task})
        if not self._stopping:
            await asyncio.wait({self._start(entry, now)})

    def _start(self, entry: _Entry, now: datetime) -> asyncio.Task[None]:
        entry.task = asyncio.get_running_loop().create_task(
            self._call(entry, now), name=f"periodic {entry.name}"
        )
        return entry.task

    async def _call(self, entry: _Entry, now: datetime) -> None:
        try:
            if entry.singleton and not await self._hold(entry.name, now):
                return  # another replica runs it
            await entry.work(now)
        except Unavailable as exc:  # an outage, not a bug: one line, no traceback
            log.warning(
                "%s pass failed (%s); next try in %.0f s", entry.name, exc, entry.interval.total_seconds()
            )
        except Exception:
            log.exception("%s pass failed; next try in %.0f s", entry.name, entry.interval.total_seconds())
        finally:
            entry.next_due = self._clock.now() + entry.interval
            entry.task = None
            if not self.manual:
                self._wake.set()  # the driver waits for no running pass: look again

    async def run(self) -> None:
        """The driver: start each pass when it is due, until `stop()`."""
        while not self._stopping:
            self._wake.clear()
            now = self._clock.now()
            if self._renewal is None and self._renewal_due(now):
                self._renewal = asyncio.get_running_loop().create_task(
                    self._renew_in_background(now), name="periodic lease renewal"
                )
            for entry in self._entries.values():
                if entry.task is None and entry.due(now):
                    self._start(entry, now)
            delay = None if self.manual else self._delay(now)
            if delay is not None and not self._flows:
                delay = min(delay, self._probe)
            mark = self._clock.monotonic()
            if await self._sleep(delay):
                continue
            if self._clock.monotonic() != mark:
                self._flows = True
            else:
                self.manual = True
                log.info("the clock does not flow: periodic passes run when run_due() is called")

    def _delay(self, now: datetime) -> float | None:
        """Seconds until the next pass that is not running is due (> 0: the due ones were
        just started); None when every pass is running, which wakes the driver as it ends."""
        waits = [(e.next_due - now).total_seconds() for e in self._entries.values() if e.task is None]
        if self._renewal is None and self._renew_due is not None:
            waits.append((self._renew_due - now).total_seconds())
        return min(waits) if waits else None

    async def _sleep(self, seconds: float | None) -> bool:
        """Wait `seconds` (None: no limit); True if woken before that."""
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def wake(self) -> None:
        """Look at the clock again now (after it was moved, or a pass was added)."""
        self._wake.set()

    async def stop(self, grace: float = 0.0) -> None:
        """End the driver; let the passes in flight finish for up to `grace` seconds, then
        cancel the rest. Finishing first keeps a pass from being cut off in the middle of
        its (short) database writes; cancelling after the bound keeps a stop within a
        second while a pass waits on a slow GitLab. Each pass is safe to repeat, and the
        next start runs it again."""
        self._stopping = True
        self._wake.set()
        running = [e.task for e in self._entries.values() if e.task is not None]
        if self._renewal is not None:
            running.append(self._renewal)
        if running and grace > 0:
            await asyncio.wait(running, timeout=grace)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await self._release()

    async def _release(self) -> None:
        """Hand the leases back at a clean stop, so another replica need not wait a TTL."""
        held, self._held = list(self._held), {}
        if self._leases is None or not held:
            return
        try:
            await asyncio.wait_for(self._leases.release(self.replica, held), 2.0)
        except Exception as exc:  # noqa: BLE001 - they expire by themselves within a TTL
            log.warning("could not release the leases %s (%s)", ", ".join(held), type(exc).__name__)
