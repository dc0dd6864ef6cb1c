"""Issue #6 through the whole running bot with `[slurm] enabled`, on the real single-node
Slurm (tests/slurm's fixture) and the Mattermost simulator, over real sockets.

Real `sbatch` jobs end; slurmctld runs the MailProg wrapper, which POSTs the signed event to
the bot's own /slurm/event; the bot reads sacct, queues the DM, and the outbox worker posts
it to the student's DM channel in the simulator. Maintenance: `/idl maintenance add` makes
the real reservation; the bot's housekeeping pass announces, warns job owners and says
"up again" only when sinfo shows the node back.

The bot runs on the real time here (Slurm does), except in the planned-window test, whose
bot clock is a FakeClock started at the real time and moved past the window's end while
Slurm still lists the reservation: "up again" then depends on sinfo alone. There the test
runs the passes (`bot.periodic.run_due`), since a clock that stands still times none. The
one test that waits for a real window (about 30 s) waits for Slurm, not for the bot's time
logic. "Nothing more arrives" is: the notifier's events handled, the sacct poll (or the
maintenance pass) run once more, the outbox drained (`Harness.settle`), then counted.
Jobs run as root on the test node, so alice's roster entry names `root` as her account.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from idlbot.adapters.mattermost.rest import KEY_PROP
from idlbot.adapters.slurm.cluster import SlurmCluster
from idlbot.adapters.slurm.mailprog import SIGNATURE_HEADER, TIMESTAMP_HEADER
from idlbot.clock import Clock, FakeClock, SystemClock
from idlbot.devtools.demo import DEMO_ROSTER
from idlbot.domain.jobs import Reservation
from idlbot.storage.db import upgrade
from tests.app.conftest import FAST, Harness, eventually, make_harness
from tests.jobs.support import MAIL, SECRET, point_mailprog
from tests.slurm.conftest import (
    Cluster,
    cluster,
    run,
    sbatch,
    slurm_up,
    wait_until,
    workdir,
)

__all__ = ["cluster", "slurm_up", "workdir"]

SLURM_TUNING = replace(FAST, housekeeping=0.2)


async def settled(h: Harness, *passes: str) -> None:
    """Mail events in flight handled, then `passes` run once more and the outbox drained."""
    assert h.bot.notifier is not None
    await h.bot.notifier.idle()
    await h.settle(*passes)


async def up_again_after_passes(h: Harness) -> None:
    """Run the maintenance pass until "up again" is posted: sinfo may take a moment to show
    a resumed node, and that wait is Slurm's; the post itself comes from a pass we ran."""

    async def posted() -> bool:
        await h.settle("maintenance")
        return any("up again" in m for m in cluster_posts(h))

    await eventually(posted, timeout=30, what="up again")


async def cluster_harness(db_url: str, slurm: Cluster, clock: Callable[[], Clock]) -> Harness:
    h = await make_harness(db_url, tuning=SLURM_TUNING)
    spool = slurm.mail_dir / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    for old in spool.glob("*.json"):  # another test's events are not this bot's business
        old.unlink()
    h.settings = replace(
        h.settings,
        slurm=replace(
            h.settings.slurm, enabled=True, cluster=slurm.name, conf=slurm.conf, bin_dir=slurm.bin_dir,
            poll_seconds=1.0, spool_dir=str(spool),
        ),
        secrets=replace(h.settings.secrets, slurm_secret=SECRET),
    )  # fmt: skip
    h.clock = clock
    await start(h, slurm)
    for student in DEMO_ROSTER:
        await h.bot.roster.upsert(student, now=h.bot.clock.now())
    return h


async def start(h: Harness, slurm: Cluster) -> None:
    """Start a bot and aim MailProg at its /slurm/event (the port is new on every start)."""
    await h.start_bot()
    point_mailprog(slurm, f"http://127.0.0.1:{h.bot.port}/slurm/event")


def quoted_name(reply: str) -> str:
    """The name a reply sets in quotes, as the reader sees it (the reply escapes Markdown)."""
    found = re.search(r"“(.+?)”", reply)
    assert found, reply
    return re.sub(r"\\(.)", r"\1", found[1])


def dead_port() -> int:
    """A port nobody listens on: MailProg's POST is refused at once, so it spools."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def ch(db_url: str, slurm_up: Cluster) -> AsyncIterator[Harness]:
    h = await cluster_harness(db_url, slurm_up, SystemClock)
    try:
        assert "root" in await h.answer("sstober", "/idl roster @alice cluster=root")
        yield h
    finally:
        await h.close()


def job_dms(h: Harness, job_id: int) -> list[dict[str, Any]]:
    prefix = f"job:{h.settings.slurm.cluster}:{job_id}:"
    return [
        p for p in h.bot_posts(h.dm_channel("alice")) if str(p["props"].get(KEY_PROP, "")).startswith(prefix)
    ]


async def ended(cluster: SlurmCluster, ids: list[int], timeout: float) -> None:
    async def check() -> bool:
        found = await cluster.jobs_ended_since(datetime.now(UTC) - timedelta(minutes=15))
        return set(ids) <= {r.job_id for r in found}

    await wait_until(check, timeout, f"jobs {ids} to end")


@pytest.mark.timeout(150)
async def test_job_end_reaches_the_owner_as_a_dm_within_10_s(
    ch: Harness, slurm_up: Cluster, cluster: SlurmCluster, workdir: Path
) -> None:
    failing = await sbatch(slurm_up, workdir, "-J", "f3", *MAIL, "--wrap", "exit 3")
    gpu = await sbatch(slurm_up, workdir, "-J", "gpu1", *MAIL, "--gres=gpu:1", "--wrap", "sleep 1")
    for job_id, expected in ((failing, "failed (exit code 3)"), (gpu, "completed")):
        (post,) = await eventually(
            lambda j=job_id: job_dms(ch, j), timeout=60, what=f"the DM for job {job_id}"
        )
        assert expected in post["message"], post["message"]
        record = await cluster.job(job_id)
        assert record is not None and record.end is not None
        assert post["create_at"] / 1000 - record.end.timestamp() <= 10
    assert "with 1 GPU" in job_dms(ch, gpu)[0]["message"]
    listing = await ch.answer("alice", "/idl jobs")
    assert str(failing) in listing and str(gpu) in listing, listing
    await settled(ch, "job poll")  # a duplicate, from a second mail or from sacct, is posted by now
    assert len(job_dms(ch, failing)) == len(job_dms(ch, gpu)) == 1


async def test_forged_slurm_event_is_refused_and_posts_nothing(ch: Harness) -> None:
    before = len(ch.bot_posts(ch.dm_channel("alice")))
    body = json.dumps(
        {"id": "forged-1", "job_id": 1, "cluster": ch.settings.slurm.cluster, "sent_at": int(time.time())}
    )
    headers = {SIGNATURE_HEADER: "sha256=" + "0" * 64, TIMESTAMP_HEADER: str(int(time.time()))}
    url = f"http://127.0.0.1:{ch.bot.port}/slurm/event"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as resp:
        assert resp.status == 401
    await settled(ch)
    assert len(ch.bot_posts(ch.dm_channel("alice"))) == before


@pytest.mark.timeout(300)
async def test_jobs_ended_while_the_bot_was_down_are_reported_once(
    ch: Harness, slurm_up: Cluster, cluster: SlurmCluster, workdir: Path
) -> None:
    """Mail mode: the MailProg events spooled while the bot was down are read at its start.
    Then `all` mode: 20 jobs without mail end while it is down; sacct finds each, once."""
    await ch.stop_bot()
    spool = point_mailprog(slurm_up, f"http://127.0.0.1:{dead_port()}/slurm/event")
    mailed = [await sbatch(slurm_up, workdir, "-J", f"mailed{i}", *MAIL, "--wrap", "true") for i in range(2)]
    await ended(cluster, mailed, 60)
    await eventually(lambda: len(list(spool.glob("*.json"))) >= 2, timeout=20, what="the spooled events")
    await start(ch, slurm_up)
    for job_id in mailed:
        await eventually(lambda j=job_id: job_dms(ch, j), timeout=20, what=f"the DM for spooled job {job_id}")
    assert list(spool.glob("*.json")) == []

    assert "every job of yours" in await ch.answer("alice", "/idl notify jobs all")
    await ch.stop_bot()
    quiet = [await sbatch(slurm_up, workdir, "-J", f"down{i}", "--wrap", "true") for i in range(20)]
    await ended(cluster, quiet, 200)
    await start(ch, slurm_up)
    for job_id in quiet:
        await eventually(lambda j=job_id: job_dms(ch, j), timeout=20, what=f"the DM for job {job_id}")
    await ch.stop_bot()
    await start(ch, slurm_up)  # and another restart: nothing is told twice
    for _ in range(2):  # two sacct polls after the one at start
        await settled(ch, "job poll")
    for job_id in mailed + quiet:
        assert len(job_dms(ch, job_id)) == 1, job_id


def cluster_posts(h: Harness) -> list[str]:
    return [str(p["message"]) for p in h.bot_posts(h.channel(h.settings.mattermost.channels["cluster"]))]


def stamp(when: datetime, h: Harness) -> str:
    return when.astimezone(h.settings.course.tz).strftime("%Y-%m-%d %H:%M")


async def node_name(cluster: SlurmCluster) -> str:
    (node,) = await cluster.nodes()
    return node.name


async def resume(slurm: Cluster, node: str) -> None:
    """Undo a drain whatever happened (scontrol refuses RESUME for a node that is not drained)."""
    proc = await asyncio.create_subprocess_exec(
        "scontrol", "update", f"NodeName={node}", "State=RESUME",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, env=slurm.env,
    )  # fmt: skip
    await asyncio.wait_for(proc.wait(), 30)


@pytest.mark.timeout(300)
async def test_planned_maintenance_through_the_bot(
    db_url: str, slurm_up: Cluster, cluster: SlurmCluster, workdir: Path
) -> None:
    """`/idl maintenance add|list|cancel` on the real cluster with the bot on a fake clock."""
    clock = FakeClock(datetime.now(UTC).replace(second=0, microsecond=0))
    h = await cluster_harness(db_url, slurm_up, lambda: clock)
    node = await node_name(cluster)
    busy = await sbatch(slurm_up, workdir, "-J", "long-training", "--time=300", "--wrap", "sleep 900")
    later: int | None = None
    names: list[str] = []
    try:
        async with asyncio.timeout(240):  # a hang fails here, with its stack, and the cleanup still runs
            assert "root" in await h.answer("sstober", "/idl roster @alice cluster=root")
            assert "is for instructors" in await h.answer("alice", "/idl maintenance list")

            async def running() -> bool:
                return any(
                    j.job_id == busy and j.state == "RUNNING" for j in await cluster.running_and_pending()
                )

            await wait_until(running, 60, "the long job to run")
            # a window to cancel: nobody's job reaches 20 h ahead, so it is created at once
            first = clock.now() + timedelta(hours=20)
            reply = await h.answer(
                "sstober",
                f"/idl maintenance add {stamp(first, h)} {stamp(first + timedelta(hours=1), h)} test",
            )
            assert "reserved on all nodes" in reply, reply
            names.append(quoted_name(reply))
            await eventually(
                lambda: any("@all There will be a maintenance" in m for m in cluster_posts(h)),
                what="announce",
            )
            assert "cancelled" in await h.answer("sstober", f"/idl maintenance cancel {names[0]}")
            assert names[0] not in {r.name for r in await cluster.reservations()}
            await eventually(
                lambda: any("is cancelled" in m for m in cluster_posts(h)), what="the cancel post"
            )

            # the real one: the running job's 5 h limit reaches into it, so Slurm refuses first
            start_at = clock.now() + timedelta(hours=2)
            end_at = start_at + timedelta(hours=3)
            add = f"/idl maintenance add {stamp(start_at, h)} {stamp(end_at, h)} power shutdown"
            refused = await h.answer("sstober", add)
            assert f"job {busy} “long-training” of root" in refused and "--ignore-jobs" in refused, refused
            assert not [r for r in await cluster.reservations() if r.maintenance]
            made = await h.answer("sstober", add + " --ignore-jobs")
            assert "reserved on all nodes" in made and "announced in the cluster channel" in made, made
            names.append(quoted_name(made))
            (res,) = [r for r in await cluster.reservations() if r.name == names[1]]
            assert (
                isinstance(res, Reservation)
                and res.maintenance
                and res.start == start_at
                and res.end == end_at
            )
            announce = await eventually(
                lambda: [m for m in cluster_posts(h) if "power shutdown" in m], what="the announcement"
            )
            assert len(announce) == 1 and announce[0].startswith("@all ")

            def warned(job_id: int) -> list[dict[str, Any]]:
                return [p for p in h.bot_posts(h.dm_channel("alice")) if f"job {job_id} " in p["message"]]

            await eventually(lambda: warned(busy), what="the DM to the running job's owner")
            later = await sbatch(slurm_up, workdir, "-J", "too-long", "--time=240", "--wrap", "sleep 5")

            async def held() -> bool:
                return any(
                    j.job_id == later and j.state == "PENDING" and "ReqNodeNotAvail" in j.reason
                    for j in await cluster.running_and_pending()
                )

            await wait_until(held, 30, "the overlapping job to wait for the window")
            await h.settle("maintenance")  # the clock stands still: no pass runs by itself
            assert warned(later), "the DM about the job submitted after the notice"
            assert len(warned(busy)) == 1

            # past the planned end (Slurm still lists it: its time is real), node drained: no "up"
            await run(
                slurm_up, "scontrol", "update", f"NodeName={node}", "State=DRAIN", "Reason=power not back"
            )
            clock.set(end_at + timedelta(minutes=1))
            assert "maintenance" in await h.bot.periodic.run_due(clock.now())
            await h.drained()
            listing = await h.answer("sstober", "/idl maintenance list")
            assert "waiting for the nodes" in listing, listing
            assert not any("up again" in m for m in cluster_posts(h))
            await run(slurm_up, "scontrol", "update", f"NodeName={node}", "State=RESUME")
            await up_again_after_passes(h)
            await h.settle("maintenance")
            assert sum("up again" in m for m in cluster_posts(h)) == 1
            assert "No maintenance windows" in await h.answer("sstober", "/idl maintenance list")  # done
    finally:
        await resume(slurm_up, node)
        for name in names:
            await cluster.delete_reservation(name)
        for job_id in (busy, later):
            if job_id is not None:
                await run(slurm_up, "scancel", str(job_id))
        await h.close()


@pytest.mark.timeout(300)
async def test_real_window_made_in_slurm_ends_up_again_only_when_the_node_is_back(
    tmp_path: Path, slurm_up: Cluster, cluster: SlurmCluster
) -> None:
    """An admin's MAINT reservation, created with scontrol: picked up and announced; while it
    is active sinfo shows `maint`; it ends with the node still drained (the power came back
    late), so "up again" waits until the node is resumed."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(url)
    h = await cluster_harness(url, slurm_up, SystemClock)
    node = await node_name(cluster)
    name = f"admin_maint_{datetime.now(UTC):%H%M%S}"
    begin = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    finish = begin + timedelta(seconds=24)
    fmt = "%Y-%m-%dT%H:%M:%S"
    try:
        async with asyncio.timeout(240):  # a hang fails here, with its stack, and the cleanup still runs
            await run(slurm_up, 
                "env", "TZ=UTC", "scontrol", "create", "reservation", f"ReservationName={name}",
                f"StartTime={begin:{fmt}}", f"EndTime={finish:{fmt}}", "Nodes=ALL", "Users=root",
                "Flags=MAINT,IGNORE_JOBS",
            )  # fmt: skip
            await eventually(
                lambda: any("There will be a maintenance" in m for m in cluster_posts(h)),
                what="the announcement",
            )

            async def in_maint() -> bool:
                return any("maint" in n.flags for n in await cluster.nodes())

            await wait_until(in_maint, 20, "sinfo to show the node in maintenance")
            assert not any("up again" in m for m in cluster_posts(h))
            await run(
                slurm_up, "scontrol", "update", f"NodeName={node}", "State=DRAIN", "Reason=power not back"
            )

            # Slurm may list an ended reservation for another half minute (seen with a drained
            # node): the planned end, not its disappearance, is what the bot goes by
            async def over() -> bool:
                return datetime.now(UTC) > finish + timedelta(seconds=1)

            await wait_until(over, 40, "the real window to end")
            await h.settle("maintenance")  # a pass after the end
            assert "waiting for the nodes" in await h.answer("sstober", "/idl maintenance list")
            assert not any("up again" in m for m in cluster_posts(h))
            await run(slurm_up, "scontrol", "update", f"NodeName={node}", "State=RESUME")
            await up_again_after_passes(h)
            await h.settle("maintenance")
            assert sum("up again" in m for m in cluster_posts(h)) == 1
            assert sum("There will be a maintenance" in m for m in cluster_posts(h)) == 1
    finally:
        await resume(slurm_up, node)
        await cluster.delete_reservation(name)
        await h.close()


@pytest.mark.timeout(300)
async def test_each_outcome_arrives_in_the_simulator_as_one_dm(
    tmp_path: Path, slurm_up: Cluster, cluster: SlurmCluster, workdir: Path
) -> None:
    """Completed, GPU, cancelled, timeout and a 5-task array, all with mail and with the sacct
    poll on too (`notify jobs all`): one DM each in the student's DM channel, none twice."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"  # the other tests here cover PostgreSQL
    await upgrade(url)
    h = await cluster_harness(url, slurm_up, SystemClock)
    ids: dict[str, int] = {}
    try:
        async with asyncio.timeout(240):  # a hang fails here, with its stack, and the cleanup still runs
            assert "root" in await h.answer("sstober", "/idl roster @alice cluster=root")
            assert "every job of yours" in await h.answer("alice", "/idl notify jobs all")
            submit = functools.partial(sbatch, slurm_up, workdir)
            ids["timeout"] = await submit("-J", "slow", *MAIL, "--time=0:01", "--wrap", "sleep 300")
            ids["ok"] = await submit("-J", "fine", *MAIL, "--wrap", "true")
            ids["gpu"] = await submit("-J", "gpu1", *MAIL, "--gres=gpu:1", "--wrap", "sleep 1")
            ids["cancel"] = await submit("-J", "stop-me", *MAIL, "--wrap", "sleep 120")
            ids["array"] = await submit(
                "-J", "sweep", *MAIL, "-a", "0-4", "--wrap", "exit $((SLURM_ARRAY_TASK_ID==1))"
            )

            async def running() -> bool:
                return any(
                    j.job_id == ids["cancel"] and j.state == "RUNNING"
                    for j in await cluster.running_and_pending()
                )

            await wait_until(running, 60, "the job to cancel to run")
            await run(slurm_up, "scancel", str(ids["cancel"]))
            expected = {
                "ok": "completed",
                "gpu": "with 1 GPU",
                "cancel": "was cancelled (by you)",
                "array": "5 tasks (4 COMPLETED, 1 FAILED)",
                "timeout": "hit its time limit",  # Slurm checks limits every 30 s
            }
            for name, text in expected.items():
                (post,) = await eventually(
                    lambda j=ids[name]: job_dms(h, j), timeout=150, what=f"the DM for the {name} job"
                )
                assert text in post["message"], post["message"]
            for _ in range(2):  # two more sacct polls
                await settled(h, "job poll")
            assert all(len(job_dms(h, job_id)) == 1 for job_id in ids.values())
    finally:
        if ids:
            await run(slurm_up, "scancel", *map(str, ids.values()))
        await h.close()
