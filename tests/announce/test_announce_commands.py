"""`/idl announce` and `/idl maintenance` through the registry, with the real SQL stores
and outbox; the confirm button through the aiohttp handler."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from idlbot.clock import FakeClock
from idlbot.commands import announce, maintenance
from idlbot.commands.registry import Registry
from idlbot.domain.jobs import ClusterError, Reservation
from idlbot.domain.roles import Role
from idlbot.web.actions import ACTION_PATH, action_handler

from .conftest import BERLIN, FakeSlurm, MakeCtx, Stack, job

REGISTRY = Registry([announce.group, maintenance.group])


async def test_students_are_refused(make_ctx: MakeCtx, stack: Stack) -> None:
    for text in ("announce --yes --notify all hi", "maintenance list"):
        reply = await REGISTRY.run(make_ctx("alice", Role.STUDENT), text)
        assert reply.ephemeral and "you are a student" in reply.text
    assert await stack.posts() == []


async def test_preview_first_then_one_post_on_confirm(make_ctx: MakeCtx, stack: Stack) -> None:
    ctx = make_ctx()
    reply = await REGISTRY.run(ctx, "announce --notify all There will be a power shutdown @here")
    assert reply.ephemeral and "Preview of announcement 1 to ~town-square" in reply.text
    assert "> @all There will be a power shutdown @\u200bhere" in reply.text
    actions = reply.props["attachments"][0]["actions"]
    assert [a["id"] for a in actions] == ["post", "discard"]
    assert actions[0]["integration"]["url"] == "http://bot.example:8080/mattermost/action"
    assert await stack.posts() == []  # nothing until confirmed

    done = await REGISTRY.run(ctx, "announce confirm 1")
    assert "on its way to ~town-square" in done.text
    again = await REGISTRY.run(ctx, "announce confirm 1")
    assert "already queued" in again.text
    posts = await stack.posts()
    assert [(p["key"], p["channel_id"]) for p in posts] == [("announce:1", "chan-town-square")]
    assert posts[0]["message"] == "@all There will be a power shutdown @\u200bhere"


async def test_yes_posts_at_once_without_mention(make_ctx: MakeCtx, stack: Stack) -> None:
    reply = await REGISTRY.run(make_ctx(), "announce --yes --channel assignments a03 is out @all")
    assert "on its way to ~assignments" in reply.text
    (post,) = await stack.posts()
    assert post["message"] == "a03 is out @\u200ball"


async def test_scheduled_list_cancel_and_due(make_ctx: MakeCtx, stack: Stack, clock: FakeClock) -> None:
    ctx = make_ctx()
    reply = await REGISTRY.run(ctx, '--at "fri 16:00" --yes Weekend'.join(["announce ", ""]))
    assert "scheduled for Fri 26 Oct 2018, 16:00 CEST" in reply.text
    await REGISTRY.run(ctx, "announce --at fri 17:00 --yes Second")
    listing = await REGISTRY.run(ctx, "announce list")
    assert "**1**" in listing.text and "**2**" in listing.text
    assert "is cancelled" in (await REGISTRY.run(ctx, "announce cancel 2")).text
    assert await stack.announcements.due(clock.now()) == 0
    assert await stack.posts() == []
    at = datetime(2018, 10, 26, 18, 0, tzinfo=BERLIN)
    assert await stack.announcements.due(at) == 1
    assert await stack.announcements.due(at) == 0
    assert [p["key"] for p in await stack.posts()] == ["announce:1"]
    assert "No announcements" in (await REGISTRY.run(ctx, "announce list")).text


async def test_tutors_only_in_their_group_channel(make_ctx: MakeCtx, stack: Stack) -> None:
    tutor = make_ctx("tutor1", Role.TUTOR)
    refused = await REGISTRY.run(tutor, "announce --channel town-square --yes hi")
    assert "only in their exercise group's channel (~exercise-group-1)" in refused.text
    no_all = await REGISTRY.run(tutor, "announce --notify all --yes hi")
    assert "Only instructors can notify @all" in no_all.text
    ok = await REGISTRY.run(tutor, "announce --notify channel --yes Room change: G29-335")
    assert "on its way to ~exercise-group-1" in ok.text
    (post,) = await stack.posts()
    assert post["channel_id"] == "chan-exercise-group-1" and post["message"].startswith("@channel Room")


async def _client(stack: Stack, clock: FakeClock) -> TestClient[web.Request, web.Application]:
    app = web.Application()
    app.router.add_post(ACTION_PATH, action_handler(stack.announcements, clock=clock))
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_button_confirms_once_and_fails_closed(
    make_ctx: MakeCtx, stack: Stack, clock: FakeClock
) -> None:
    reply = await REGISTRY.run(make_ctx(), "announce --notify here Cluster is back")
    context: dict[str, Any] = reply.props["attachments"][0]["actions"][0]["integration"]["context"]
    client = await _client(stack, clock)
    try:
        forged = await client.post(
            ACTION_PATH, json={"user_id": "id-sstober", "context": {**context, "sig": "0" * 64}}
        )
        assert forged.status == 403
        other = await client.post(ACTION_PATH, json={"user_id": "id-jens", "context": context})
        assert other.status == 200 and "no announcement 1" in (await other.json())["ephemeral_text"]
        assert await stack.posts() == []
        clicked = await client.post(ACTION_PATH, json={"user_id": "id-sstober", "context": context})
        body = await clicked.json()
        assert body["update"] == {"message": "Announcement 1 posted to ~town-square.", "props": {}}
        twice = await client.post(ACTION_PATH, json={"user_id": "id-sstober", "context": context})
        assert "already queued" in (await twice.json())["ephemeral_text"]
        assert (await client.post(ACTION_PATH, data=b"not json")).status == 400
    finally:
        await client.close()
    assert [p["message"] for p in await stack.posts()] == ["@here Cluster is back"]


async def test_draft_expires(make_ctx: MakeCtx, stack: Stack, clock: FakeClock) -> None:
    ctx = make_ctx()
    await REGISTRY.run(ctx, "announce hello")
    clock.advance(timedelta(hours=2))
    assert "waited over an hour" in (await REGISTRY.run(ctx, "announce confirm 1")).text
    assert await stack.posts() == []


async def test_maintenance_commands(
    make_ctx: MakeCtx, stack: Stack, slurm: FakeSlurm, clock: FakeClock
) -> None:
    ctx = make_ctx()
    slurm.jobs = [job(7, "alice", "RUNNING", start=clock.now(), limit=timedelta(days=4))]
    conflict = await REGISTRY.run(ctx, "maintenance add fri 04:00 12:00 power shutdown by the university")
    assert "Could not create “maint\\_20181026\\_0200”" in conflict.text and "job 7" in conflict.text
    assert "--ignore-jobs" in conflict.text
    made = await REGISTRY.run(ctx, "maintenance add fri 04:00 12:00 power shutdown --ignore-jobs")
    assert "reserved on all nodes: Fri 26 Oct 2018, 04:00\u201312:00 CEST" in made.text
    assert "announced in the cluster channel" in made.text
    listing = await REGISTRY.run(ctx, "maintenance list")
    assert "“maint\\_20181026\\_0200”" in listing.text and "by @sstober: announced" in listing.text
    cancelled = await REGISTRY.run(ctx, "maintenance cancel maint_20181026_0200")
    assert "is cancelled" in cancelled.text
    assert "No maintenance windows" in (await REGISTRY.run(ctx, "maintenance list")).text
    assert "Usage" in (await REGISTRY.run(ctx, "maintenance")).text


async def test_examples_do_not_crash(make_ctx: MakeCtx) -> None:
    for command in REGISTRY.commands():
        assert command.summary.endswith(".") and command.usage.split()[0] == command.name
        for example in command.examples:
            reply = await REGISTRY.run(make_ctx(), example.text)
            assert "Something broke" not in reply.text, (example, reply.text)


async def test_slurm_failing_is_reported_with_its_reason_not_as_something_broke(
    make_ctx: MakeCtx, stack: Stack, slurm: FakeSlurm, clock: FakeClock
) -> None:
    async def down(*args: object, **kwargs: object) -> Reservation:
        raise ClusterError("scontrol: cannot run (No such file or directory) @channel_")

    slurm.create_maintenance = down  # type: ignore[method-assign]
    reply = await REGISTRY.run(make_ctx(), "maintenance add fri 04:00 12:00 kernel update")
    assert reply.text.startswith("Slurm did not do it (scontrol: cannot run \\(No such file")
    assert reply.text.endswith("so nothing changed; try again in a few minutes.")
    assert "@\u200bchannel" in reply.text and "Something broke" not in reply.text
