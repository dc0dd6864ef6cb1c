"""Slash commands and DMs through the real bot and the simulator (issue #2 acceptance)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp

from tests.app.conftest import Harness, eventually, slash_form


async def test_slash_command_gets_a_json_ephemeral_reply(harness: Harness) -> None:
    result = await harness.slash("alice", "/idl deadlines 2")
    assert result["response_type"] == "ephemeral"
    assert "Times are in Europe/Berlin." in result["text"]
    shown = [e for e in harness.sim.ephemerals if e["user_id"] == harness.uid("alice")]
    assert shown and "Times are in Europe/Berlin." in shown[-1]["message"]
    assert harness.bot_posts(harness.channel("town-square")) == []  # nothing public


async def test_deadlines_are_shown_in_the_users_own_zone(harness: Harness) -> None:
    result = await harness.slash("bob", "/idl deadlines")
    assert "Times are in America/New_York." in result["text"]


async def test_help_whoami_and_unknown_by_slash(harness: Harness) -> None:
    student = await harness.slash("alice", "/idl help")
    assert "/idl deadlines" in student["text"] and "/idl health" not in student["text"]
    staff = await harness.slash("sstober", "/idl help")
    assert "/idl health" in staff["text"]
    who = await harness.slash("sstober", "/idl whoami")
    assert who["text"].startswith("You are @sstober, an instructor.")
    unknown = await harness.slash("alice", "/idl dedlines")
    assert "Did you mean `/idl deadlines`?" in unknown["text"]
    refused = await harness.slash("alice", "/idl health")
    assert refused["text"] == "`/idl health` is for tutors and instructors; you are a student."
    health = await harness.slash("tutor1", "/idl health")
    assert health["text"].startswith("Websocket: connected")


async def test_wrong_or_missing_token_gets_401_and_runs_nothing(harness: Harness) -> None:
    url = f"http://127.0.0.1:{harness.bot.port}/mattermost/command"
    good = harness.settings.secrets.slash_token or ""
    cases = [
        ("wrong", {"Authorization": "Token wrong"}, slash_form(harness, token="wrong")),
        ("missing", {}, {k: v for k, v in slash_form(harness, token="").items() if k != "token"}),
        ("header wrong, field right", {"Authorization": "Token wrong"}, slash_form(harness, token=good)),
        ("header right, field wrong", {"Authorization": f"Token {good}"}, slash_form(harness, token="wrong")),
    ]
    before = harness.bot.metrics.render()
    async with aiohttp.ClientSession() as http:
        for name, headers, form in cases:
            async with http.post(
                url,
                data=urlencode(sorted(form.items())),
                headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
            ) as resp:
                assert resp.status == 401, name
                assert resp.headers["Content-Type"] == "application/json"
        async with http.post(
            url,
            data=urlencode(sorted(slash_form(harness, token=good).items())),
            headers={"Authorization": f"Token {good}", "Content-Type": "application/x-www-form-urlencoded"},
        ) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/json"
            assert (await resp.json())["text"].startswith("You are @alice")
    after = harness.bot.metrics.render().decode()
    assert b"idlbot_commands_total" not in before or before != after
    assert 'idlbot_commands_total{command="whoami",outcome="ok"} 1.0' in after


async def test_same_commands_work_by_dm(harness: Harness) -> None:
    assert "Times are in Europe/Berlin." in await harness.dm("alice", "deadlines")
    assert "/idl whoami" in await harness.dm("alice", "help")
    assert (await harness.dm("alice", "/idl whoami")).startswith("You are @alice, a student.")
    assert "Did you mean" in await harness.dm("alice", "whoamii")
    assert (await harness.dm("carol", "deadlines 1")).count("\n- ") == 1


async def test_mention_in_a_channel_is_answered_privately(harness: Harness) -> None:
    post = await harness.sim.user_post(harness.uid("alice"), harness.channel("town-square"), "@idlbot whoami")
    reply = await harness.reply_to(post, harness.dm_channel("alice"))
    assert reply.startswith("You are @alice")
    assert harness.bot_posts(harness.channel("town-square")) == []


async def test_each_dm_is_answered_once(harness: Harness) -> None:
    post = await harness.sim.user_post(harness.uid("alice"), harness.dm_channel("alice"), "whoami")
    await harness.reply_to(post, harness.dm_channel("alice"))
    assert harness.bot is not None and harness.bot.inbound is not None
    await harness.bot.inbound.resync()  # the same post again, as after a reconnect
    await harness.bot.worker.run_once()
    replies = [
        p
        for p in harness.bot_posts(harness.dm_channel("alice"))
        if p["props"].get("idlbot_key") == f"reply:{post['id']}"
    ]
    assert len(replies) == 1


async def test_healthz_and_metrics(harness: Harness) -> None:
    base = f"http://127.0.0.1:{harness.bot.port}"
    async with aiohttp.ClientSession() as http:

        async def drained_reading() -> dict[str, Any] | None:
            """The database reading is taken every second: a post queued at start may
            still be in the one /healthz answers from."""
            async with http.get(f"{base}/healthz") as resp:
                body: dict[str, Any] = await resp.json()
                assert resp.status == 200, body
            return body if body["outbox"]["backlog"] == 0 else None

        body = await eventually(drained_reading, what="/healthz with the outbox drained")
        assert body["status"] == "ok" and body["websocket"]["connected"] is True
        assert body["database"]["reachable"] is True
        await harness.slash("alice", "/idl deadlines")

        async def drained_metrics() -> str | None:
            """As above: a pass may queue a post between the two readings."""
            async with http.get(f"{base}/metrics") as resp:
                text = await resp.text()
                assert resp.status == 200
            return text if "idlbot_outbox_backlog 0.0" in text else None

        text = await eventually(drained_metrics, what="/metrics with the outbox drained")
        assert 'idlbot_commands_total{command="deadlines",outcome="ok"}' in text
        assert "idlbot_command_seconds_bucket" in text
        assert "idlbot_websocket_reconnects_total" in text
        await harness.sim.stop()
        await eventually(lambda: not harness.bot.websocket.connected, what="disconnect")  # type: ignore[union-attr]
        async with http.get(f"{base}/healthz") as resp:
            assert resp.status == 503
            assert (await resp.json())["status"] == "degraded"
        await harness.sim.restart()


async def test_outbox_posts_carry_attachments(harness: Harness) -> None:
    """The overview chart and CSV exports are files on a post, uploaded at delivery."""
    from idlbot.domain.attachment import Attachment

    channel = harness.dm_channel("sstober")
    csv = Attachment("ledger.csv", "text/csv", b"student,on_time\nalice,3\n")
    await harness.bot.outbox.enqueue(
        key="export:1", message="The ledger", now=harness.bot.clock.now(), channel_id=channel, files=[csv]
    )
    harness.bot.worker.wake()

    def export() -> dict[str, Any] | None:  # the DM may hold other posts (the Monday at-risk digest)
        return next((p for p in harness.bot_posts(channel) if p["message"] == "The ledger"), None)

    post = await eventually(export, what="the export post")
    [info] = post["metadata"]["files"]
    assert (info["name"], info["mime_type"], info["size"]) == ("ledger.csv", "text/csv", 24)
    assert harness.sim.state.file_data[info["id"]] == csv.data
