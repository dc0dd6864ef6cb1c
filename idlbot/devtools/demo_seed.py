"""The example course's world, seeded once into a new demo's simulators.

Team, channels, staff and three synthetic students in the Mattermost simulator, and what
happened in GitLab before the demo clock's Monday (hand-ins, a blog post, questions with
upvotes). A resumed demo restores its simulators instead (see `demo_state`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from idlbot.clock import Clock
from idlbot.config import Settings
from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.devtools.sim.mattermost import MattermostSim
from idlbot.domain.ledger import Student
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.roster import SqlRoster

DEMO_START = datetime(2018, 10, 22, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
STUDENTS = {"alice": "Europe/Berlin", "bob": "America/New_York", "carol": "Asia/Kolkata"}
STATE_FILE = "demo.json"


def seed(sim: MattermostSim, settings: Settings) -> dict[str, Any]:
    """Team, channels and people of the example course; returns ids and tokens."""
    team = sim.add_team(settings.mattermost.team, "Introduction to Deep Learning")
    bot = sim.add_user("idlbot", is_bot=True, first_name="idlbot")
    tokens = {"idlbot": sim.issue_token(bot["id"])}
    users = {"idlbot": bot}
    staff = list(settings.roles.instructors) + [
        t for t in settings.roles.tutors if t not in settings.roles.instructors
    ]
    for name in staff:
        users[name] = sim.add_user(name, roles="system_user")
    for name, tz in STUDENTS.items():
        users[name] = sim.add_user(name, timezone=tz)
    channel_names = set(settings.mattermost.channels.values()) | {
        g.channel for g in settings.course.groups if g.channel
    }
    channels = {name: sim.add_channel(team["id"], name) for name in sorted(channel_names)}
    for user in users.values():
        # the bot registers /idl itself, which needs team admin (manage_slash_commands)
        sim.add_team_member(team["id"], user["id"], admin=user is bot)
        if user["username"] not in tokens:
            tokens[user["username"]] = sim.issue_token(user["id"])
        for channel in channels.values():
            sim.add_channel_member(channel["id"], user["id"])
    return {
        "team_id": team["id"],
        "channels": {name: c["id"] for name, c in channels.items()},
        "users": {name: u["id"] for name, u in users.items()},
        "tokens": tokens,
    }


DEMO_ROSTER = (
    Student(mattermost="alice", gitlab="alice", cluster="alice", group_id="g1", team_id="lyrics-a"),
    Student(mattermost="bob", gitlab="bob", cluster="bob", group_id="g2", team_id="lyrics-b"),
    Student(mattermost="carol", gitlab="carol", cluster="carol", group_id="g3", team_id="lyrics-b"),
)


def seed_history(gitlab: GitLabSim) -> None:
    """What happened before the demo clock's Monday: a01 was due Tue 16 Oct 23:59."""
    berlin = ZoneInfo("Europe/Berlin")
    gitlab.push_tag(
        "idl2018/assignments/alice", "a01", user="alice", at=datetime(2018, 10, 16, 21, 5, tzinfo=berlin)
    )
    gitlab.push_tag(
        "idl2018/assignments/bob-carol", "a01", user="bob", at=datetime(2018, 10, 17, 8, 30, tzinfo=berlin)
    )
    gitlab.create_wiki_page(
        "stober/idl2018",
        "blog/alice/week-1",
        "What I learned about perceptrons.",
        user="alice",
        at=datetime(2018, 10, 19, 18, 0, tzinfo=berlin),
    )
    project = "stober/idl2018"
    asked = [
        ("Why does dropout help against overfitting?", "alice", ["bob", "carol"]),
        ("What exactly is a residual connection?", "bob", ["alice"]),
        ("Is batch norm applied before or after the activation?", "carol", []),
    ]
    for n, (title, author, voters) in enumerate(asked):
        issue = gitlab.add_issue(
            project,
            title,
            author=author,
            labels=["question"],
            at=datetime(2018, 10, 20, 10 + n, 0, tzinfo=berlin),
        )
        for voter in voters:
            gitlab.award(project, issue["iid"], "thumbsup", user=voter)


def with_endpoints(settings: Settings, *, mattermost_url: str, port: int, database_url: str) -> Settings:
    """The example course, pointed at a local simulator, port and database."""
    return replace(
        settings,
        mattermost=replace(settings.mattermost, url=mattermost_url),
        server=replace(settings.server, host="127.0.0.1", port=port, public_url=f"http://127.0.0.1:{port}"),
        database=replace(settings.database, url=database_url),
    )


async def import_roster(settings: Settings, clock: Clock, *, cluster_user: str | None) -> None:
    """The demo roster; with a cluster, alice's cluster account is whoever runs the demo,
    so the jobs they submit are hers."""
    engine = create_engine(settings.database.url)
    try:
        roster = SqlRoster(sessionmaker(engine))
        for student in DEMO_ROSTER:
            if cluster_user is not None and student.mattermost == "alice":
                student = replace(student, cluster=cluster_user)
            await roster.upsert(student, now=clock.now())
    finally:
        await engine.dispose()
