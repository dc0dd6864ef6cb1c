"""Fuzz the whole running bot: no input gets a 5xx or "Something broke".

The real bot (Mattermost simulator, GitLab simulator, `[slurm] enabled` so /slurm/event is
served; on SQLite and on PostgreSQL) takes COMMANDS random command lines on its slash route with the right
token, from every role, and MALFORMED malformed bodies on each POST route with the right
credentials (slash token, X-Gitlab-Token, the MailProg's HMAC) and on the calendar feed.
Slow commands answer through response_url, so that is a receiver here that keeps every
late answer, and each of them is awaited. Afterwards /healthz must be 200. The counts are
printed (`-s`) for the notes. Generators: tests/app/fuzz_inputs.py, seeded, so a failure
replays.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_plus, urlencode

import aiohttp
import pytest
from aiohttp import web

from idlbot.adapters.slurm import mailprog
from idlbot.commands import build_registry
from tests.app.conftest import WEBHOOK_SECRET, Harness, eventually, make_harness, slash_form
from tests.app.fuzz_inputs import VALUES, command_line, dumps, malformed_form, malformed_json

SEED = 20181022
COMMANDS = 5_000
MALFORMED = 500
PARALLEL = 8
SLURM_SECRET = "fuzz-slurm-secret"
BROKE = "Something broke"
# rendering a PNG chart or an export costs far more than any other command; a few of each
# are enough to fuzz their arguments, and keep the run within a minute on one core
RARE = {"overview": 0.01, "export": 0.01}


@dataclass
class LateAnswers:
    """The response_url endpoint: keeps what slow commands answer later."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/late", self._take)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/late"

    async def _take(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        return web.Response()


@pytest.fixture
async def bot(db_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    h = await make_harness(db_url, gitlab=True)
    h.settings = replace(
        h.settings,
        slurm=replace(h.settings.slurm, enabled=True, bin_dir=str(tmp_path)),  # no Slurm tools there
        secrets=replace(h.settings.secrets, slurm_secret=SLURM_SECRET),
    )
    await h.start_bot()
    try:
        yield h
    finally:
        await h.close()


def names(rng: random.Random) -> Callable[[], str]:
    """Command names from the registry, the expensive ones rarely."""
    every = [c.name for c in build_registry().commands()]
    common = [n for n in every if n not in RARE]

    def pick() -> str:
        for name, share in RARE.items():
            if rng.random() < share:
                return name
        return rng.choice(common)

    return pick


class Fuzz:
    """Posts to the bot and tallies statuses per route; any 5xx or "Something broke" is
    kept with the input that caused it."""

    def __init__(self, h: Harness, http: aiohttp.ClientSession) -> None:
        self.h, self.http = h, http
        self.base = f"http://127.0.0.1:{h.bot.port}"
        self.statuses: dict[str, Counter[int]] = {}
        self.failures: list[str] = []
        self.replies: Counter[str] = Counter()
        self.gate = asyncio.Semaphore(PARALLEL)

    async def send(self, route: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> None:
        async with self.gate, self.http.request(method, self.base + path, data=body, headers=headers) as resp:
            text = await resp.text(errors="replace")
        self.statuses.setdefault(route, Counter())[resp.status] += 1
        if route == "command line" and resp.status == 200:
            self.replies[" ".join(str(json.loads(text).get("text", "")).split()[:3])] += 1
        if resp.status >= 500 or BROKE in text:
            self.failures.append(
                f"{route} {resp.status} {text[:60]!r} for {unquote_plus(body[:300].decode('latin-1'))!r}"
            )

    async def all(self, jobs: list[Awaitable[None]]) -> None:
        await asyncio.gather(*jobs)


def valid_hook() -> tuple[str, dict[str, Any]]:
    return "Issue Hook", {
        "object_kind": "issue",
        "project": {"id": 1, "path_with_namespace": "idl2018/course"},
        "object_attributes": {"iid": 1, "project_id": 1, "title": "Why?", "action": "open"},
        "user": {"username": "alice"},
    }


def valid_click() -> dict[str, Any]:
    return {
        "user_id": "a" * 26,
        "context": {"action": "post", "announcement": 1, "token": "t" * 32, "sig": "0" * 64},
    }


def signed(body: bytes, stamp: int) -> dict[str, str]:
    return {
        mailprog.SIGNATURE_HEADER: mailprog.sign(SLURM_SECRET.encode(), body),
        mailprog.TIMESTAMP_HEADER: str(stamp),
        "Content-Type": "application/json",
    }


@pytest.mark.timeout(240)
async def test_no_input_gets_a_5xx(bot: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED)
    late = LateAnswers()
    await late.start()
    started = time.perf_counter()
    users = ["sstober", "sstober", "tutor1", "alice", "carol"]
    token = bot.settings.secrets.slash_token or ""
    form_headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Token {token}"}
    pick = names(rng)
    try:
        async with aiohttp.ClientSession() as http:
            fuzz = Fuzz(bot, http)
            lines = [
                (rng.choice(users), command_line(rng, [pick() for _ in range(3)])) for _ in range(COMMANDS)
            ]
            await fuzz.all(
                [
                    fuzz.send(
                        "command line",
                        "POST",
                        "/mattermost/command",
                        urlencode(
                            slash_form(
                                bot, user_id=bot.uid(user), user_name=user, text=line, response_url=late.url
                            )
                        ).encode(),
                        form_headers,
                    )
                    for user, line in lines
                ]
            )
            commands_done = time.perf_counter()
            for route, make in route_makers(bot, rng, late.url, form_headers).items():
                await send_malformed(fuzz, route, make)
            await bot.drained(timeout=30)
            working = fuzz.replies["Working on it…"]
            await eventually(lambda: len(late.bodies) >= working, timeout=30, what="every late answer")
            late_broke = [b for b in late.bodies if BROKE in str(b.get("text", ""))]
            async with http.get(f"{fuzz.base}/healthz") as resp:
                health = resp.status, await resp.json()
    finally:
        if late.runner is not None:
            await late.runner.cleanup()
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\nfuzz seed={SEED}: {COMMANDS} command lines in {commands_done - started:.1f} s,"
            f" {elapsed:.1f} s in all"
        )
        for route, counts in sorted(fuzz.statuses.items()):
            print(f"  {route}: {sum(counts.values())} requests, statuses {dict(sorted(counts.items()))}")
        print(f"  late answers via response_url: {len(late.bodies)}")
        print(f"  most frequent reply starts: {fuzz.replies.most_common(15)}")
    assert not fuzz.failures, "\n".join(fuzz.failures[:40])
    assert late_broke == []
    assert fuzz.statuses["command line"].total() == COMMANDS
    for route in ("slash", "gitlab", "slurm", "action", "calendar"):
        assert refused(fuzz, route) >= MALFORMED, (route, fuzz.statuses[route])
    assert health[0] == 200, health


Make = Callable[[int], tuple[str, str, bytes, dict[str, str]]]
"""Request number i → (method, path, body, headers)."""


def route_makers(
    h: Harness, rng: random.Random, response_url: str, form_headers: dict[str, str]
) -> dict[str, Make]:
    """For each POST route and the calendar feed: malformed requests with the right credentials."""
    hook_kind, hook = valid_hook()
    stamp = int(time.time())  # the MailProg stamps the real time, whatever the course clock says
    event = {"id": "e", "job_id": "12", "cluster": "idl-gpu", "sent_at": stamp, "env": {"SLURM_JOB_ID": "12"}}
    kinds = (hook_kind, "Note Hook", "Tag Push Hook", "Wiki Page Hook", "Emoji Hook")
    feeds = ("", "x" * 20, "a" * 65, "../../etc/passwd", "\u00ff" * 20, "%00" * 16, "A" * 16)

    def slash(i: int) -> tuple[str, str, bytes, dict[str, str]]:
        form = slash_form(h, response_url=response_url)
        return "POST", "/mattermost/command", malformed_form(rng, form), form_headers

    def gitlab(i: int) -> tuple[str, str, bytes, dict[str, str]]:
        headers = {"X-Gitlab-Token": WEBHOOK_SECRET, "X-Gitlab-Event": rng.choice(kinds)}
        return "POST", "/gitlab/webhook", malformed_json(rng, hook), headers

    def slurm(i: int) -> tuple[str, str, bytes, dict[str, str]]:
        valid = {**event, "id": f"fuzz-{i}"}
        if rng.random() < 0.8:  # a field the route reads, wrong; still signed and in time
            valid[rng.choice(("id", "job_id", "cluster", "env"))] = rng.choice(VALUES)
            body = dumps(valid)
        else:
            body = malformed_json(rng, valid, keep=("sent_at",))
        return "POST", "/slurm/event", body, signed(body, stamp)

    def action(i: int) -> tuple[str, str, bytes, dict[str, str]]:
        return "POST", "/mattermost/action", malformed_json(rng, valid_click()), {}

    def calendar(i: int) -> tuple[str, str, bytes, dict[str, str]]:
        return "GET", f"/calendar/{quote(rng.choice(feeds) + str(i))}.ics", b"", {}

    return {"slash": slash, "gitlab": gitlab, "slurm": slurm, "action": action, "calendar": calendar}


REFUSED = {"calendar": 404}
"""The status that means "malformed" per route; 400 for the others. A 401 (a mutation that
broke the MailProg's signed timestamp) or a 403 (a well-formed click with a bad
signature) is no 5xx either, but does not count towards MALFORMED."""


def refused(fuzz: Fuzz, route: str) -> int:
    return fuzz.statuses.get(route, Counter())[REFUSED.get(route, 400)]


async def send_malformed(fuzz: Fuzz, route: str, make: Make) -> None:
    """Batches until MALFORMED requests of this route were refused as malformed (a mutation
    may leave a body valid: that one is answered 2xx and does not count), or 4 * MALFORMED
    were sent."""
    sent = 0
    while sent < 4 * MALFORMED:
        if refused(fuzz, route) >= MALFORMED:
            return
        batch = [make(sent + i) for i in range(100)]
        await fuzz.all([fuzz.send(route, *request) for request in batch])
        sent += len(batch)
