"""A deployment of two courses against one Mattermost simulator and one database.

Course one is the example course (id "main", team idl2018) of `make_harness`. Course two,
"nlp" (team nlp2019), is the same course file with its own team, channels, slash command
(token), staff and roster: carol is a student in IDL and a tutor in NLP, alice is a
student in both, bob only in IDL."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from idlbot.app import Bot
from idlbot.config import Settings
from idlbot.devtools.demo_seed import DEMO_ROSTER
from idlbot.domain.ledger import Student
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.roster import SqlRoster
from tests.app.conftest import Harness, eventually, register, slash_form

NLP_TEAM = "nlp2019"
NLP_ROSTER = (Student(mattermost="alice", gitlab="alice", cluster="alice", group_id="g2", team_id="t-nlp"),)


@dataclass
class TwoCourses:
    h: Harness
    nlp: Settings
    nlp_team_id: str
    nlp_channels: dict[str, str]

    @property
    def idl(self) -> Settings:
        return self.h.settings

    def nlp_channel(self, name: str) -> str:
        return self.nlp_channels[name]

    async def start_bot(self) -> Bot:
        h = self.h
        bot = Bot(h.settings, tuning=h.tuning, clock=h.clock(), courses=[h.settings, self.nlp])
        await bot.start()
        h.bots.append(bot)
        await asyncio.wait_for(bot.ready.wait(), 10)
        url = f"http://127.0.0.1:{bot.port}"
        await register(h, url)
        await register(h, url, NLP_TEAM)
        await eventually(lambda: bot.websocket is not None and bot.websocket.connected, what="websocket")
        return bot


async def add_second_course(h: Harness) -> TwoCourses:
    """Team nlp2019 with the example's channels, everyone a member; its own /idl; the
    roster of each course in the one database."""
    sim = h.sim
    team = sim.add_team(NLP_TEAM, "Natural Language Processing")
    names = sorted(set(h.settings.mattermost.channels.values()))
    channels = {name: sim.add_channel(team["id"], name) for name in names}
    for username, user_id in h.info["users"].items():
        sim.add_team_member(team["id"], user_id, admin=username == "idlbot")
        for channel in channels.values():
            sim.add_channel_member(channel["id"], user_id)
    token = await register(h, "http://127.0.0.1:9", NLP_TEAM)
    base = h.settings
    nlp = replace(
        base,
        course=replace(base.course, id="nlp", name="Natural Language Processing"),
        mattermost=replace(base.mattermost, team=NLP_TEAM),
        roles=replace(base.roles, tutors=("carol",)),
        secrets=replace(base.secrets, slash_token=token),
    )
    await _roster(h.db_url, "main", DEMO_ROSTER, h)
    await _roster(h.db_url, "nlp", NLP_ROSTER, h)
    return TwoCourses(h, nlp, str(team["id"]), {n: str(c["id"]) for n, c in channels.items()})


async def _roster(db_url: str, course: str, students: tuple[Student, ...], h: Harness) -> None:
    engine = create_engine(db_url)
    try:
        roster = SqlRoster(sessionmaker(engine), course=course)
        for student in students:
            await roster.upsert(student, now=h.clock().now())
    finally:
        await engine.dispose()


def slash_as(t: TwoCourses, username: str, text: str, *, team: str, token: str) -> dict[str, Any]:
    """A slash form as Mattermost sends it from `team` (an id), with `token`."""
    return slash_form(
        t.h, team_id=team, token=token, text=text, user_id=t.h.uid(username), user_name=username
    )
