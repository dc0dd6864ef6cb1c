"""The real mattermostautodriver against the simulator's REST API."""

from __future__ import annotations

import time

import httpx
import pytest
from mattermostautodriver import AsyncTypedDriver
from mattermostautodriver.exceptions import (
    InvalidOrMissingParameters,
    NoAccessTokenProvided,
    NotEnoughPermissions,
    ResourceNotFound,
    TooManyRequests,
    UnknownMattermostError,
)

from idlbot.devtools.sim.mattermost import MattermostSim
from idlbot.devtools.sim.mm_faults import GcraLimiter

from .support import World, make_driver


async def test_login_and_lookups(driver: AsyncTypedDriver, world: World) -> None:
    assert driver.client.userid == world.bot["id"]
    assert driver.client.username == "idlbot"
    me = await driver.users.get_user("me")
    assert me["is_bot"] is True and len(me["id"]) == 26
    alice = await driver.users.get_user_by_username("alice")
    assert alice["timezone"] == {
        "automaticTimezone": "Europe/Berlin",
        "manualTimezone": "",
        "useAutomaticTimezone": "true",
    }
    assert alice["first_name"] == "Alice"
    users = await driver.users.get_users_by_ids([world.alice["id"], world.bob["id"]])
    assert {u["username"] for u in users} == {"alice", "bob"}
    team = await driver.teams.get_team_by_name("idl")
    assert team["id"] == world.team["id"]
    chan = await driver.channels.get_channel_by_name(world.team["id"], "town-square")
    assert chan["id"] == world.town["id"]
    chan2 = await driver.channels.get_channel_by_name_for_team_name("idl", "town-square")
    assert chan2 == chan
    member = await driver.channels.get_channel_member(world.town["id"], world.bot["id"])
    assert member["user_id"] == world.bot["id"]


async def test_dm_and_post_lifecycle(driver: AsyncTypedDriver, world: World) -> None:
    dm = await driver.channels.create_direct_channel([world.bot["id"], world.alice["id"]])
    assert dm["type"] == "D" and dm["team_id"] == ""
    assert dm["name"] == "__".join(sorted([world.bot["id"], world.alice["id"]]))
    again = await driver.channels.create_direct_channel([world.alice["id"], world.bot["id"]])
    assert again["id"] == dm["id"]
    post = await driver.posts.create_post(channel_id=dm["id"], message="Hello <b> & you")
    assert post["props"] == {"from_bot": "true"} and post["user_id"] == world.bot["id"]
    patched = await driver.posts.patch_post(post["id"], message="edited")
    assert patched["message"] == "edited" and patched["edit_at"] > 0
    fetched = await driver.posts.get_post(post["id"])
    assert fetched["message"] == "edited"
    listing = await driver.posts.get_posts_for_channel(dm["id"])
    assert listing["order"] == [post["id"]]
    # The DM shows up in the user's channels of any team, like on the real server.
    mine = await driver.client.get(f"/api/v4/users/me/teams/{world.team['id']}/channels")
    assert dm["id"] in {c["id"] for c in mine}


async def test_raw_wire_format(world: World) -> None:
    """Exact content type, request/version ids, compact Go-style JSON with HTML escaping."""
    async with httpx.AsyncClient(base_url=world.sim.url) as client:
        resp = await client.get("/api/v4/users/me", headers={"Authorization": f"token {world.bot_token}"})
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "application/json"
        assert len(resp.headers["X-Request-ID"]) == 26
        assert resp.headers["X-Version-ID"].startswith("11.1.0.")
        assert b", " not in resp.content
        resp = await client.post(
            "/api/v4/posts",
            headers={"Authorization": f"BEARER {world.bot_token}"},
            json={"channel_id": world.town["id"], "message": "a<b"},
        )
        assert resp.status_code == 201 and b"a\\u003cb" in resp.content
        missing = await client.get("/api/v4/nope", headers={"Authorization": f"Bearer {world.bot_token}"})
        assert missing.status_code == 404
        assert set(missing.json()) == {"id", "message", "detailed_error", "request_id", "status_code"}
        assert missing.json()["request_id"] == missing.headers["X-Request-ID"]


async def test_error_mapping(world: World, driver: AsyncTypedDriver) -> None:
    bad = make_driver(world.sim, "x" * 26)
    with pytest.raises(NoAccessTokenProvided) as e401:
        await bad.login()
    assert e401.value.error_id == "api.context.session_expired.app_error"
    await bad.close()
    with pytest.raises(NotEnoughPermissions) as e403:
        await driver.posts.create_post(channel_id=world.general["id"], message="not a member")
    assert e403.value.error_id == "api.context.permissions.app_error"
    with pytest.raises(ResourceNotFound) as e404:
        await driver.users.get_user_by_username("nobody")
    assert e404.value.error_id == "app.user.missing_account.const"
    with pytest.raises(NotEnoughPermissions):  # only system_admin may post ephemerals
        await driver.posts.create_post_ephemeral(
            user_id=world.alice["id"], post={"channel_id": world.town["id"], "message": "psst"}
        )
    with pytest.raises(InvalidOrMissingParameters):
        await driver.users.get_user("not-an-id")


async def test_fail_next_and_latency(world: World, driver: AsyncTypedDriver) -> None:
    world.sim.faults.fail_next(1, status=500)
    with pytest.raises(UnknownMattermostError) as err:
        await driver.posts.create_post(channel_id=world.town["id"], message="x")
    assert err.value.status_code == 500
    assert (await driver.posts.create_post(channel_id=world.town["id"], message="y"))["message"] == "y"
    world.sim.faults.latency = 0.05
    started = time.monotonic()
    await driver.users.get_user("me")
    assert time.monotonic() - started >= 0.05


async def test_latency_on_one_route(world: World, driver: AsyncTypedDriver) -> None:
    world.sim.faults.route_latency["GET /api/v4/users/{user_id}"] = 0.3
    started = time.monotonic()
    await driver.teams.get_team_by_name(world.team["name"])
    assert time.monotonic() - started < 0.3  # other routes are not slowed
    started = time.monotonic()
    await driver.users.get_user(world.alice["id"])
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("now", [0.1, 5000.3, 12345.678901234])
def test_a_fresh_limiter_lets_its_first_request_through_at_any_clock_reading(now: float) -> None:
    """At 0.1 s of monotonic time, 0.1 + 1000 - 1000 rounded above 0.1 and the first
    request was refused: `test_rate_limit_retry_after` failed at random on that."""
    limiter = GcraLimiter(per_sec=0.001, burst=0)
    assert not limiter.check("k", now=now).limited
    assert limiter.check("k", now=now).limited


async def test_rate_limit_retry_after(world: World) -> None:
    sim = world.sim
    # 2 instant requests pass, then 429; one request per 2 s comes back, which leaves
    # room for a loaded CI machine between the three requests below
    sim.faults.set_rate_limit(per_sec=0.5, burst=1)
    async with httpx.AsyncClient(base_url=sim.url) as client:
        auth = {"Authorization": f"Bearer {world.bot_token}"}
        ok = await client.get("/api/v4/system/ping", headers=auth)
        assert ok.headers["X-Ratelimit-Limit"] == "2" and "Retry-After" not in ok.headers
        await client.get("/api/v4/system/ping", headers=auth)
        limited = await client.get("/api/v4/system/ping", headers=auth)
    assert limited.status_code == 429
    assert limited.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert limited.text == "limit exceeded\n"
    assert limited.headers["Retry-After"] == "2" and limited.headers["X-Ratelimit-Remaining"] == "0"
    # The driver sleeps Retry-After (2 s) and succeeds on the next attempt.
    d = make_driver(sim, world.bot_token)
    d2 = make_driver(sim, world.bot_token, max_retries=0)
    try:  # closed whatever happens: a failure here left sockets that failed the next test
        await d.login()
        assert (await d.users.get_user("me"))["username"] == "idlbot"
        statuses = [r.status for r in sim.requests if r.path == "/api/v4/users/me"]
        assert 429 in statuses and statuses[-1] == 200
        sim.faults.set_rate_limit(per_sec=0.001, burst=0)
        d2.client.token = world.bot_token  # no login(): that request would be limited too
        await d2.users.get_user("me")  # the fresh limiter lets exactly one request through
        with pytest.raises(TooManyRequests) as err:
            await d2.users.get_user("me")
        assert "limit exceeded" in str(err.value)
    finally:
        sim.faults.set_rate_limit(None)
        await d.close()
        await d2.close()


async def test_pending_post_id_dedup(world: World, driver: AsyncTypedDriver) -> None:
    body = {"channel_id": world.town["id"], "message": "once", "pending_post_id": "pp-1"}
    first = await driver.client.post("/api/v4/posts", options=body)
    second = await driver.client.post("/api/v4/posts", options=body)
    assert second == first
    assert [p["message"] for p in world.sim.posts_in(world.town["id"])] == ["once"]
    world.sim.advance_time(31)  # the cache entry expires after 30 s
    third = await driver.client.post("/api/v4/posts", options=body)
    assert third["id"] != first["id"]


async def test_posts_since_and_paging(world: World, driver: AsyncTypedDriver, sim: MattermostSim) -> None:
    p1 = await sim.user_post(world.alice["id"], world.town["id"], "one")
    p2 = await sim.user_post(world.alice["id"], world.town["id"], "two")
    p3 = await sim.user_post(world.alice["id"], world.town["id"], "three", root_id=p1["id"])
    since = await driver.posts.get_posts_for_channel(world.town["id"], since=p1["create_at"])
    assert since["order"] == [p3["id"], p2["id"]]
    page = await driver.posts.get_posts_for_channel(world.town["id"], page=0, per_page=2)
    assert page["order"] == [p3["id"], p2["id"]] and page["prev_post_id"] == p1["id"]
    assert (await driver.posts.get_post(p1["id"]))["reply_count"] == 1


async def test_commands_crud(world: World, driver: AsyncTypedDriver) -> None:
    cmd = await driver.commands.create_command(
        team_id=world.team["id"], method="P", trigger="IDL", url="http://127.0.0.1:9/slash"
    )
    assert cmd["trigger"] == "idl" and len(cmd["token"]) == 26
    with pytest.raises(InvalidOrMissingParameters) as dup:
        await driver.commands.create_command(
            team_id=world.team["id"], method="P", trigger="idl", url="http://127.0.0.1:9/x"
        )
    assert dup.value.error_id == "api.command.duplicate_trigger.app_error"
    listed = await driver.commands.list_commands(team_id=world.team["id"], custom_only=True)
    assert [c["id"] for c in listed] == [cmd["id"]]
    new_token = await driver.client.put(f"/api/v4/commands/{cmd['id']}/regen_token")
    assert new_token["token"] != cmd["token"]
    alice = make_driver(world.sim, world.alice_token)
    await alice.login()
    with pytest.raises(NotEnoughPermissions):
        await alice.commands.list_commands(team_id=world.team["id"], custom_only=True)
    await alice.close()
    assert (await driver.client.delete(f"/api/v4/commands/{cmd['id']}"))["status"] == "OK"


async def test_since_returns_the_newest_thousand_and_channels_carry_last_post_at(
    world: World, driver: AsyncTypedDriver
) -> None:
    """The re-sync's two calls: `since` is capped like the server's `GetPostsSince`, and the
    user's channel list (DMs included, team_id "") tells when each channel last had a post."""
    for n in range(1003):
        await world.sim.user_post(world.alice["id"], world.town["id"], f"m{n}")
    result = await driver.posts.get_posts_for_channel(world.town["id"], since=0)
    messages = {p["message"] for p in result["posts"].values()}
    assert len(messages) == 1000 and "m1002" in messages and "m2" not in messages
    dm = world.sim.direct_channel(world.alice["id"], world.bot["id"])
    posted = await world.sim.user_post(world.alice["id"], dm["id"], "hi")
    channels = await driver.channels.get_channels_for_team_for_user(world.bot["id"], world.team["id"])
    listed = {c["id"]: c for c in channels}
    assert listed[dm["id"]]["type"] == "D" and listed[dm["id"]]["last_post_at"] == posted["create_at"]


async def test_get_file_returns_the_bytes_to_channel_members_only(world: World) -> None:
    """`GET /api/v4/files/{id}` (api4/file.go getFile): the uploader or a member of the
    channel gets the bytes with the stored type; anyone else 403, an unknown id 404."""
    base = f"http://127.0.0.1:{world.sim.port}/api/v4"

    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async with httpx.AsyncClient() as http:
        up = await http.post(
            f"{base}/files", headers=auth(world.bot_token), data={"channel_id": world.town["id"]},
            files={"files": ("overview.png", b"\x89PNG\r\n\x1a\nchart", "image/png")},
        )  # fmt: skip
        assert up.status_code == 201, up.text
        file_id = up.json()["file_infos"][0]["id"]
        for token in (world.bot_token, world.alice_token):  # the uploader; a channel member
            got = await http.get(f"{base}/files/{file_id}", headers=auth(token))
            assert got.status_code == 200 and got.content == b"\x89PNG\r\n\x1a\nchart"
            assert got.headers["Content-Type"] == "image/png"
            assert got.headers["Content-Disposition"].startswith('inline;filename="overview.png"')
        forced = await http.get(f"{base}/files/{file_id}?download=1", headers=auth(world.alice_token))
        assert forced.headers["Content-Disposition"].startswith("attachment;")
        outsider = world.sim.issue_token(world.sim.add_user("eve")["id"])
        for path in (f"files/{file_id}", f"files/{file_id}/info"):  # the info is guarded alike
            denied = await http.get(f"{base}/{path}", headers=auth(outsider))
            assert denied.status_code == 403 and denied.json()["id"] == "api.context.permissions.app_error"
            missing = await http.get(
                f"{base}/{path.replace(file_id, 'x' * 26)}", headers=auth(world.alice_token)
            )
            assert missing.status_code == 404
        info = await http.get(f"{base}/files/{file_id}/info", headers=auth(world.alice_token))
        assert info.status_code == 200 and info.json()["name"] == "overview.png"


async def test_uploads_are_read_as_go_mime_multipart_reads_them(world: World) -> None:
    """The part's bytes as sent (a PNG full of CRLFs and dashes), only quoted-printable
    decoded, the filename in UTF-8; a body without its closing delimiter (Go's reader
    fails with an unexpected EOF) or without a boundary gets 400."""
    base = f"http://127.0.0.1:{world.sim.port}/api/v4"
    auth = {"Authorization": f"Bearer {world.bot_token}"}
    png = b"\x89PNG\r\n\x1a\n\r\n\r\n--\r\n" + bytes(range(256)) * 40
    async with httpx.AsyncClient() as http:
        up = await http.post(
            f"{base}/files", headers=auth, data={"channel_id": world.town["id"]},
            files={"files": ("Übersicht.png", png, "image/png")},
        )  # fmt: skip
        assert up.status_code == 201, up.text
        info = up.json()["file_infos"][0]
        assert (info["name"], info["size"]) == ("Übersicht.png", len(png))
        assert (await http.get(f"{base}/files/{info['id']}", headers=auth)).content == png
        form = (
            f'--b\r\nContent-Disposition: form-data; name="channel_id"\r\n\r\n{world.town["id"]}\r\n'
            '--b\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\na=3Db\r\n--b--\r\n"
        ).encode()
        quoted = await http.post(
            f"{base}/files", headers={**auth, "Content-Type": "multipart/form-data; boundary=b"}, content=form
        )
        assert quoted.status_code == 201, quoted.text
        file_id = quoted.json()["file_infos"][0]["id"]
        assert (await http.get(f"{base}/files/{file_id}", headers=auth)).content == b"a=b"
        for content_type, body in (
            ("multipart/form-data; boundary=b", form.removesuffix(b"--b--\r\n")),
            ("multipart/form-data", form),
        ):
            bad = await http.post(
                f"{base}/files", headers={**auth, "Content-Type": content_type}, content=body
            )
            assert bad.status_code == 400
