"""Agenda fixtures: the example course, the real GitLabClient against GitLabSim, the SQL
store and outbox on `db_url` (SQLite and PostgreSQL), a fake post editor, and a hook
receiver shaped like the route change the lead wires (it passes the Idempotency-Key)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from idlbot.adapters.gitlab import hooks as gitlab_hooks
from idlbot.adapters.gitlab.client import GitLabClient
from idlbot.clock import FakeClock
from idlbot.config import GitLabSettings, Settings, load
from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.domain.gitlab import QuestionChanged
from idlbot.services.agenda import AgendaService
from idlbot.storage.agenda import SqlAgendaStore
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.deliveries import SqlDeliveryKeys
from idlbot.storage.outbox import OutboxItem, SqlOutbox

ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")
ENV = {"IDLBOT_MATTERMOST_TOKEN": "bot-token-for-tests", "IDLBOT_SLASH_TOKEN": "slash-token-for-tests"}
COURSE = "idl2018/course"
SECRET = "hook-secret-for-tests"
CHANNEL = "c-questions".ljust(26, ".")
# class on Wed 17 Oct 2018; its cutoff is Tue 16 Oct 12:00 CEST (10:00 UTC)
CUTOFF = datetime(2018, 10, 16, 12, 0, tzinfo=BERLIN)
STUDENTS = tuple(f"s{n}" for n in range(8))


class SimClock:
    """The simulator's clock (it stamps created_at); tests move it with the FakeClock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def __call__(self) -> datetime:
        return self.clock.now().astimezone(UTC)


@dataclass
class FakeEditor:
    """`MattermostChat.patch_post` stand-in: the edits, in order."""

    edits: list[tuple[str, str]] = field(default_factory=list)

    async def patch_post(self, post_id: str, message: str) -> None:
        self.edits.append((post_id, message))


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load(ROOT / "config.example.toml", env=ENV)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2018, 10, 15, 9, 0, tzinfo=BERLIN))  # Monday before the cutoff


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[GitLabSim]:
    async with GitLabSim(clock=SimClock(clock)) as server:
        for name in ("stober", *STUDENTS):
            server.add_user(name)
        server.add_group("idl2018", members={"stober": 50})
        server.add_project(COURSE, members=list(STUDENTS))
        server.add_project("idl2018/other", members=list(STUDENTS))
        yield server


@dataclass
class Rig:
    """One bot process: its own GitLabClient, engine and service, on the shared db."""

    service: AgendaService
    store: SqlAgendaStore
    deliveries: SqlDeliveryKeys
    outbox: SqlOutbox
    editor: FakeEditor
    gitlab: GitLabClient
    closers: list[Callable[[], Any]]

    async def deliver(self, now: datetime) -> list[OutboxItem]:
        """What the OutboxWorker does, minus Mattermost: claim and mark sent."""
        items = await self.outbox.claim_due(now)
        for item in items:
            await self.outbox.mark_sent(item.id, post_id=f"post-{item.key}", now=now)
        return items

    async def close(self) -> None:
        await self.service.close()
        for close in self.closers:
            await close()


@pytest.fixture
async def make_rig(
    db_url: str, sim: GitLabSim, settings: Settings, clock: FakeClock
) -> AsyncIterator[Callable[..., Rig]]:
    rigs: list[Rig] = []
    token = sim.issue_token("stober")

    def make(**agenda: Any) -> Rig:
        gl_settings = GitLabSettings(
            url=sim.url, project=COURSE, assignments_group="idl2018", request_timeout=5, max_workers=2
        )
        client = GitLabClient(gl_settings, token, max_retries=4)
        engine = create_engine(db_url)
        sessions = sessionmaker(engine)
        store, outbox, editor = SqlAgendaStore(sessions), SqlOutbox(sessions), FakeEditor()
        deliveries = SqlDeliveryKeys(sessions)

        async def channel_id() -> str | None:
            return CHANNEL

        service = AgendaService(
            gitlab=client, store=store, deliveries=deliveries, outbox=outbox, editor=editor,
            channel_id=channel_id, course=settings.course, settings=replace(settings.agenda, **agenda),
            clock=clock,
        )  # fmt: skip
        rig = Rig(service, store, deliveries, outbox, editor, client, [client.close, engine.dispose])
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        await rig.close()


@dataclass
class Receiver:
    """The webhook route as the lead should wire it: verify, parse, pass the key."""

    service: AgendaService | None = None
    statuses: list[int] = field(default_factory=list)
    accepted: list[bool] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        if not gitlab_hooks.verify(request.headers, SECRET):
            self.statuses.append(401)
            return web.Response(status=401)
        payload = await request.json()
        event = gitlab_hooks.parse(
            request.headers.get("X-Gitlab-Event", ""), payload, received_at=datetime.now(UTC)
        )
        if isinstance(event, QuestionChanged) and self.service is not None:
            key = gitlab_hooks.idempotency_key(request.headers)
            self.accepted.append(await self.service.on_question(event, key))
        self.statuses.append(200)
        return web.Response(status=200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/gitlab/webhook", rec.handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/gitlab/webhook"
    yield rec
    await runner.cleanup()


def file_questions(sim: GitLabSim, n: int, *, at: datetime, votes: Callable[[int], int]) -> list[int]:
    """`n` questions filed at `at` (a second apart), iid k gets `votes(k)` thumbs-up."""
    iids = []
    for k in range(n):
        created = at + timedelta(seconds=k)
        issue = sim.add_issue(COURSE, f"Question {k}", author=STUDENTS[k % len(STUDENTS)],
                              labels=["question"], at=created)  # fmt: skip
        iids.append(int(issue["iid"]))
        for voter in STUDENTS[: votes(int(issue["iid"]))]:
            sim.award(COURSE, int(issue["iid"]), "thumbsup", user=voter)
    return iids


def gitlab_order(sim: GitLabSim, *, label: str = "question") -> list[int]:
    """GitLab's popularity order, computed from the simulator's state independently."""
    issues = [i for i in sim.project(COURSE).issues.values() if i.state == "opened" and label in i.labels]
    issues.sort(key=lambda i: (-i.count_awards("thumbsup"), -i.id))
    return [i.iid for i in issues]
