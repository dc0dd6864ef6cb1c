"""The maintenance service on a fake clock with an in-memory Slurm and the real SQL outbox:
what is posted when, once each (acceptance: announcements at the right times,
"up again" only once the nodes are back)."""

from __future__ import annotations

from datetime import datetime, timedelta

from idlbot.clock import FakeClock
from idlbot.domain.jobs import NodeInfo, Reservation, ReservationConflict
from idlbot.ports.announce import Added
from idlbot.services.maintenance import MaintenanceService
from idlbot.storage.announce import SqlMaintenanceStore

from .conftest import BERLIN, FakeSlurm, Stack, _channel, job, resolve

START = datetime(2018, 10, 26, 4, 0, tzinfo=BERLIN)  # Friday morning, as in the course
END = datetime(2018, 10, 26, 12, 0, tzinfo=BERLIN)


async def _keys(stack: Stack) -> list[str]:
    return [p["key"] for p in await stack.posts()]


async def test_a_window_through_its_whole_life(stack: Stack, slurm: FakeSlurm, clock: FakeClock) -> None:
    slurm.jobs = [
        job(7, "alice", "RUNNING", start=clock.now(), limit=timedelta(days=4)),
        job(8, "bob", "PENDING", start=None, limit=timedelta(days=4)),
        job(9, "carol", "RUNNING", start=clock.now(), limit=timedelta(hours=1)),  # ends in time
        job(10, "ghost", "PENDING", start=None, limit=None),  # no chat account: skipped
    ]
    added = await stack.maintenance.add(
        START, END, "power shutdown", by="sstober", ignore_jobs=True, now=clock.now()
    )
    assert isinstance(added, Added) and added.announced
    name = "maint_20181026_0200"
    assert added.window.name == name and name in slurm.reservations_
    base = f"maint:{name}:20181026T0200Z"
    posts = await stack.posts()
    assert [p["key"] for p in posts] == [f"{base}:announce", f"{base}:dm:alice:7", f"{base}:dm:bob:8"]
    assert posts[0]["channel_id"] == "chan-cluster" and posts[0]["message"].startswith("@all ")
    assert "power shutdown" in posts[0]["message"] and "Fri 26 Oct 2018, 04:00" in posts[0]["message"]
    assert posts[1]["dm_user_id"] == "mm-alice" and "job 7" in posts[1]["message"]
    assert "pending" in posts[2]["message"]

    for hours in (1, 12, 24):  # ticks before the reminder time post nothing new
        clock.set(datetime(2018, 10, 23, 9, 0, tzinfo=BERLIN) + timedelta(hours=hours))
        await stack.maintenance.tick(clock.now())
    assert len(await _keys(stack)) == 3

    clock.set(START - timedelta(hours=23))  # the day before
    slurm.jobs.append(job(11, "dave", "PENDING", start=None, limit=timedelta(days=2)))
    slurm.jobs.append(job(12, "alice", "PENDING", start=None, limit=timedelta(days=2)))
    await stack.maintenance.tick(clock.now())
    await stack.maintenance.tick(clock.now())
    assert (await _keys(stack))[3:] == [f"{base}:remind", f"{base}:dm:alice:12", f"{base}:dm:dave:11"]
    assert "job 7" not in (await stack.posts())[4]["message"]  # only the new job
    assert "finish your running jobs by Fri 26 Oct 2018, 04:00" in (await stack.posts())[3]["message"]

    slurm.node_state = [NodeInfo("n1", "idle", frozenset({"maint"}))]
    clock.set(START + timedelta(hours=1))
    await stack.maintenance.tick(clock.now())
    del slurm.reservations_[name]  # Slurm drops the reservation at its end
    slurm.node_state = [NodeInfo("n1", "down", frozenset({"not_responding"}))]  # power still off
    clock.set(END + timedelta(minutes=5))
    await stack.maintenance.tick(clock.now())
    assert len(await _keys(stack)) == 6  # the planned end alone does not say "up"

    slurm.node_state = [NodeInfo("n1", "idle")]
    clock.set(END + timedelta(hours=2))
    await stack.maintenance.tick(clock.now())
    await stack.maintenance.tick(clock.now())
    posts = await stack.posts()
    assert [p["key"] for p in posts][6:] == [f"{base}:up"]
    assert posts[6]["message"].startswith("@all The idl-gpu cluster is up again.")
    assert await stack.maintenance.windows(clock.now()) == []


async def test_conflict_names_the_overlapping_jobs(stack: Stack, slurm: FakeSlurm, clock: FakeClock) -> None:
    slurm.jobs = [job(7, "alice", "RUNNING", start=clock.now(), limit=timedelta(days=4))]
    result = await stack.maintenance.add(
        START, END, "kernel", by="sstober", ignore_jobs=False, now=clock.now()
    )
    assert isinstance(result, ReservationConflict) and [j.job_id for j in result.jobs] == [7]
    assert slurm.reservations_ == {} and await _keys(stack) == []


async def test_admin_created_window_is_picked_up(stack: Stack, slurm: FakeSlurm, clock: FakeClock) -> None:
    slurm.reservations_["admin_w"] = Reservation("admin_w", START, END, frozenset({"MAINT"}))
    slurm.reservations_["course"] = Reservation("course", START, END, frozenset())  # not maintenance
    await stack.maintenance.tick(clock.now())
    await stack.maintenance.tick(clock.now())
    assert await _keys(stack) == ["maint:admin_w:20181026T0200Z:announce"]


async def test_cancel_before_the_start_tells_everyone(
    stack: Stack, slurm: FakeSlurm, clock: FakeClock
) -> None:
    await stack.maintenance.add(START, END, "x", by="sstober", ignore_jobs=False, now=clock.now())
    await stack.maintenance.cancel("maint_20181026_0200", now=clock.now())
    keys = await _keys(stack)
    assert keys[-1].endswith(":cancelled") and len(keys) == 2
    assert slurm.reservations_ == {}
    await stack.maintenance.tick(clock.now() + timedelta(days=5))
    assert len(await _keys(stack)) == 2


async def test_moved_window_is_told_once(stack: Stack, slurm: FakeSlurm, clock: FakeClock) -> None:
    slurm.reservations_["w"] = Reservation("w", START, END, frozenset({"MAINT"}))
    await stack.maintenance.tick(clock.now())
    later = Reservation("w", START + timedelta(days=1), END + timedelta(days=1), frozenset({"MAINT"}))
    slurm.reservations_["w"] = later
    await stack.maintenance.tick(clock.now())
    await stack.maintenance.tick(clock.now())
    keys = await _keys(stack)
    assert len(keys) == 2 and ":moved:" in keys[1]
    (w,) = await stack.maintenance.windows(clock.now())
    assert (w.start, w.end) == (later.start, later.end)


async def test_every_course_of_a_deployment_hears_of_the_shared_clusters_window(
    stack: Stack, slurm: FakeSlurm, clock: FakeClock
) -> None:
    """The cluster is the deployment's: a second course's cluster channel gets each post
    too, keyed by its course, so each is sent once to each channel."""

    async def nlp_channel(name: str) -> str | None:
        return f"nlp-{name}"

    maintenance = MaintenanceService(
        slurm, SqlMaintenanceStore(stack.engine), stack.outbox, _channel, resolve,
        channel="cluster", tz=BERLIN, cluster_name="idl-gpu", more_channels=[("nlp", nlp_channel, "gpu")],
    )  # fmt: skip
    added = await maintenance.add(START, END, "power", by="sstober", ignore_jobs=True, now=clock.now())
    assert isinstance(added, Added)
    base = "maint:maint_20181026_0200:20181026T0200Z"
    posts = [(p["key"], p["channel_id"]) for p in await stack.posts()]
    assert posts == [(f"{base}:announce", "chan-cluster"), (f"{base}:announce@nlp", "nlp-gpu")]
    await maintenance.tick(clock.now())
    assert len(await stack.posts()) == 2  # once each
