"""The faculty `bench_faculty` measures: one Mattermost simulator with a team per course,
a deployment file and one course file per course, the database migrated by the real CLI,
each course's roster and ledger written in bulk, and one slash form per student exactly
as Mattermost sends it from that student's team.

Each course file is `idlbot/data/courses/idl2018.toml` with its own id and team ("c01",
"c02", ...), without GitLab (none is reachable here; its reconciliation would only add
failing calls) and without the per-student DMs (`PER_STUDENT_DMS`). Each team has the
course's channels, the bot as team admin (it registers its own /idl, as
`setup-mattermost` does, so each course gets its own token) and the staff; every course
has its own students ("c01s000", ...).

Set-up only: nothing here is timed except what the benchmark times around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.bench_deadlines import slash_form
from benchmarks.bench_status import seed_ledger
from benchmarks.wrk_world import ENV, cli, set_keys, without_table
from idlbot.config import example_config_path, load
from idlbot.config.deployment import load_deployment
from idlbot.config.environment import slash_token_variable
from idlbot.devtools.demo import seed
from idlbot.devtools.sim.mattermost import MattermostSim
from idlbot.devtools.sim.mm_state import CommandHook, new_id

DATA = example_config_path().parent
COURSE_TEMPLATE = DATA / "courses" / "idl2018.toml"
DEPLOYMENT_TEMPLATE = DATA / "deployment.example.toml"


def course_id(n: int) -> str:
    return f"c{n:02d}"


@dataclass
class Course:
    id: str
    team_id: str
    town_square: str
    students: dict[str, str] = field(default_factory=dict)  # username -> user id
    token: str = ""


@dataclass
class Faculty:
    """The simulator and the courses; the files are written per database (`write_files`)."""

    sim: MattermostSim
    tmp: Path
    bot_token: str
    bot_id: str
    courses: list[Course]
    hooks: set[str] = field(default_factory=set)
    others: list[str] = field(default_factory=list)  # users of course one's team, in no roster

    def dm_targets(self, n: int) -> list[str]:
        """`n` user ids to DM: every course's students, then the users in no roster."""
        return [*(uid for c in self.courses for uid in c.students.values()), *self.others][:n]

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """The secrets `idlbot run` reads: the bot's token and each course's /idl token."""
        several = len(self.courses) > 1
        tokens = {slash_token_variable(c.id, several=several): c.token for c in self.courses}
        return {**base, "IDLBOT_MATTERMOST_TOKEN": self.bot_token, **tokens}

    def write_files(self, name: str, db_url: str, port: int) -> Path:
        """`<name>.toml`, a deployment of every course on `db_url` listening on `port`
        (the course files are shared by every deployment file of this faculty)."""
        for c in self.courses:
            path = self.tmp / "courses" / f"{c.id}.toml"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(course_text(c.id))
        text = without_table(DEPLOYMENT_TEMPLATE.read_text(), "gitlab")
        files = ", ".join(f'"courses/{c.id}.toml"' for c in self.courses)
        text = set_keys(
            text,
            ("deployment", "courses", f"[{files}]"),
            ("server", "port", str(port)),
            ("server", "public_url", f'"http://127.0.0.1:{port}"'),
            ("database", "url", f'"{db_url}"'),
            ("mattermost", "url", f'"{self.sim.url}"'),
        )
        path = self.tmp / f"{name}.toml"
        path.write_text(text)
        return path

    def forms(self, text: str) -> list[tuple[str, str]]:
        """(token, body) per student of every course, interleaved across courses so that
        consecutive requests go to different courses. Each response_url is a hook the
        simulator knows (`hooks`), so a reply sent there is counted."""
        per_course = [
            [
                (c.token, slash_form(token=c.token, user_id=uid, user_name=name, channel_id=c.town_square,
                                     team_id=c.team_id, sim_url=self.sim.url, text=text, team_domain=c.id,
                                     hook_id=self.new_hook(c, uid)))
                for name, uid in c.students.items()
            ]
            for c in self.courses
        ]  # fmt: skip
        longest = max(len(forms) for forms in per_course)
        return [forms[i] for i in range(longest) for forms in per_course if i < len(forms)]

    def new_hook(self, course: Course, user_id: str) -> str:
        """A response_url target of the course's /idl (5 uses, like Mattermost's)."""
        state = self.sim.state
        command = next(c for c in state.commands.values() if c["team_id"] == course.team_id)
        hook = CommandHook(new_id(), command["id"], user_id, course.town_square, "", state.clock.now_s())
        state.hooks[hook.id] = hook
        self.hooks.add(hook.id)
        return hook.id

    def replies_via_response_url(self) -> int:
        """Answers that went out through one of our response_urls (the simulator's record)."""
        return sum(
            1 for r in self.sim.requests
            if r.route == "/hooks/commands/{id}" and r.path.rsplit("/", 1)[-1] in self.hooks
        )  # fmt: skip


# Tables left out of every course file: what DMs each student on its own. At the pretend
# instant every course (the same 2018 course) would warn, nudge and propose to all its
# students at once, a fan-out of 12 000 requests that would overlap the status rounds for
# minutes; the fan-out is measured on its own in (b). The channel reminders stay.
PER_STUDENT_DMS = ("warnings", "blog_nudge", "presenters", "summaries", "reminders.nudges")


def course_text(cid: str) -> str:
    text = COURSE_TEMPLATE.read_text()
    for table in ("gitlab", *PER_STUDENT_DMS):
        text = without_table(text, table)
    return set_keys(text, ("course", "id", f'"{cid}"'), ("mattermost", "team", f'"{cid}"'))


async def build_faculty(tmp: Path, courses: int, students: int, others: int = 0) -> Faculty:
    """The simulator with `courses` teams of `students` students each, and `others` users
    in course one's team but in no roster (DM targets only); no database yet."""
    example = load(example_config_path(), env=ENV)
    sim = MattermostSim(ping_interval=60.0)
    first = course_id(1)
    info = seed(sim, replace(example, mattermost=replace(example.mattermost, team=first)))
    staff = [u for name, u in info["users"].items() if name not in ("alice", "bob", "carol")]
    channel_names = sorted(info["channels"])
    out: list[Course] = [Course(first, info["team_id"], info["channels"]["town-square"])]
    for n in range(2, courses + 1):
        team = sim.add_team(course_id(n), f"Course {n}")
        channels = {name: sim.add_channel(team["id"], name)["id"] for name in channel_names}
        for uid in staff:
            sim.add_team_member(team["id"], uid, admin=uid == info["users"]["idlbot"])
            for channel in channels.values():
                sim.add_channel_member(channel, uid)
        out.append(Course(course_id(n), team["id"], channels["town-square"]))
    for c in out:
        for i in range(students):
            user = sim.add_user(f"{c.id}s{i:03d}")
            sim.add_team_member(c.team_id, user["id"])
            sim.add_channel_member(c.town_square, user["id"])
            c.students[user["username"]] = user["id"]
    extra = []
    for i in range(others):
        user = sim.add_user(f"dm{i:05d}")
        sim.add_team_member(out[0].team_id, user["id"])
        extra.append(user["id"])
    await sim.start()
    return Faculty(sim, tmp, info["tokens"]["idlbot"], info["users"]["idlbot"], out, others=extra)


async def register(faculty: Faculty, public_url: str) -> None:
    """Each team's /idl, pointing at `public_url`, as `setup-mattermost` registers it;
    each course keeps the token Mattermost made (re-registering keeps the token)."""
    from idlbot.adapters.mattermost.rest import MattermostChat
    from idlbot.adapters.mattermost.setup import setup_command
    from idlbot.commands import build_registry

    for c in faculty.courses:
        chat = MattermostChat(faculty.sim.url, faculty.bot_token, team=c.id)
        try:
            await chat.login()
            _, command = await setup_command(chat, public_url, build_registry())
        finally:
            await chat.close()
        c.token = str(command["token"])


async def fill_database(faculty: Faculty, deployment: Path, db_url: str, env: dict[str, str]) -> None:
    """`idlbot migrate` on the deployment, then every course's roster and ledger in bulk."""
    cli("migrate", "--config", str(deployment), env=env)
    loaded = load_deployment(deployment, env=env)
    first_id = 1
    for c in faculty.courses:
        settings: Any = loaded.by_id(c.id)
        await seed_ledger(db_url, settings.course, list(c.students), first_id=first_id)
        first_id += len(c.students)
