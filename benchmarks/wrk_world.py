"""The course `bench_wrk` measures: a Mattermost simulator with 500 students, a config
file, the database (SQLite file or a PostgreSQL database of its own) migrated and filled
by the real CLI (`idlbot migrate`, `idlbot roster import`), hand-ins in the ledger, and
one slash form per student and command, exactly as Mattermost would send it.

Set-up only: nothing here is timed except what `bench_wrk` times around it.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from idlbot.config import example_config_path, load
from idlbot.devtools.demo import seed
from idlbot.devtools.sim.mattermost import MattermostSim
from idlbot.devtools.sim.mm_state import CommandHook, new_id
from idlbot.domain.gitlab import TagPush
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.ledger import SqlQualification

# inside the 2018 term, after five hand-ins were due: `deadlines` lists the rest, `status`
# has hand-ins, lateness and presentations to weigh
NOW = datetime(2018, 12, 4, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
ENV = {"IDLBOT_MATTERMOST_TOKEN": "x" * 26, "IDLBOT_SLASH_TOKEN": "y" * 26}
REPO_ROOT = Path(__file__).resolve().parent.parent


def student_name(n: int) -> str:
    return f"s{n:04d}"


@dataclass
class World:
    """What the benchmark needs to talk to the bot as Mattermost would."""

    sim: MattermostSim
    info: dict[str, Any]
    token: str
    bot_port: int
    config: Path
    env: dict[str, str]
    students: list[str]
    instructor: str
    hooks: dict[str, str] = field(default_factory=dict)  # hook id -> username (students)
    setup_s: dict[str, float] = field(default_factory=dict)

    def form(self, username: str, text: str, hook_id: str) -> str:
        """The body Mattermost POSTs (url.Values.Encode: keys sorted, spaces as '+')."""
        from idlbot.devtools.sim.mm_commands import trigger_id

        user_id = str(self.info["users"][username])
        fields = {
            "channel_id": self.info["channels"]["town-square"],
            "channel_name": "town-square",
            "command": "/idl",
            "response_url": f"{self.sim.url}/hooks/commands/{hook_id}",
            "root_id": "",
            "team_domain": "idl2018",
            "team_id": self.info["team_id"],
            "text": text,
            "token": self.token,
            "trigger_id": trigger_id(user_id, int(time.time() * 1000)),
            "user_id": user_id,
            "user_name": username,
        }
        return urllib.parse.urlencode(sorted(fields.items()))

    def new_hook(self, username: str) -> str:
        """A response_url the simulator accepts (5 uses, like Mattermost's)."""
        command = next(iter(self.sim.state.commands.values()))
        hook = CommandHook(
            new_id(), command["id"], str(self.info["users"][username]),
            self.info["channels"]["town-square"], "", self.sim.state.clock.now_s(),
        )  # fmt: skip
        self.sim.state.hooks[hook.id] = hook
        return hook.id

    def write_forms(self, path: Path, text: str) -> Path:
        """One form per student, one per line, for `wrk_forms.lua` to rotate over."""
        lines = []
        for name in self.students:
            hook = self.new_hook(name)
            self.hooks[hook] = name
            lines.append(self.form(name, text, hook))
        path.write_text("\n".join(lines) + "\n")
        return path

    def replies_via_response_url(self) -> int:
        """Students' answers that went out through response_url (the simulator's record)."""
        return sum(
            1 for r in self.sim.requests
            if r.route == "/hooks/commands/{id}" and r.path.rsplit("/", 1)[-1] in self.hooks
        )  # fmt: skip


def config_text(mattermost_url: str, database_url: str, port: int) -> str:
    """The example course with local endpoints and no GitLab (none is reachable here, and
    its reconciliation would only add failing calls to the measurement)."""
    text = without_table(example_config_path().read_text(), "gitlab")
    return set_keys(
        text,
        ("mattermost", "url", f'"{mattermost_url}"'),
        ("server", "port", str(port)),
        ("server", "public_url", f'"http://127.0.0.1:{port}"'),
        ("database", "url", f'"{database_url}"'),
    )


def without_table(text: str, table: str) -> str:
    """A TOML text without `[table]` and its lines up to the next table header."""
    return re.sub(rf"^\[{re.escape(table)}\]\n(?:(?!\[).*\n)*", "", text, flags=re.MULTILINE)


def set_keys(text: str, *changes: tuple[str, str, str]) -> str:
    """`key = value` (value as TOML source) for each (table, key, value): the first `key`
    line after the `[table]` header is replaced; both must exist."""
    for section, key, value in changes:
        header = re.search(rf"^\[{re.escape(section)}\]\s*$", text, re.MULTILINE)
        assert header is not None, section
        match = re.compile(rf"^{key}\s*=.*$", re.MULTILINE).search(text, header.end())
        assert match is not None, (section, key)
        text = text[: match.start()] + f"{key} = {value}" + text[match.end() :]
    return text


def cli(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "idlbot", *args], env=env, capture_output=True, text=True, cwd=REPO_ROOT
    )
    if result.returncode != 0:
        raise SystemExit(f"idlbot {' '.join(args)} failed ({result.returncode}): {result.stderr[-2000:]}")


async def build_world(tmp: Path, db_url: str, students: int, bot_port: int, env: dict[str, str]) -> World:
    """Simulator, roster and ledger; the bot is not started here."""
    from idlbot.adapters.mattermost.rest import MattermostChat
    from idlbot.adapters.mattermost.setup import setup_command
    from idlbot.commands import build_registry

    settings = load(example_config_path(), env=ENV)
    sim = MattermostSim()
    info = seed(sim, settings)
    town = info["channels"]["town-square"]
    names = [student_name(n) for n in range(students)]
    for name in names:
        user = sim.add_user(name)
        sim.add_team_member(info["team_id"], user["id"])
        sim.add_channel_member(town, user["id"])
        info["users"][name] = user["id"]
    sim_url = await sim.start()
    chat = MattermostChat(sim_url, info["tokens"]["idlbot"], team=settings.mattermost.team)
    try:
        await chat.login()
        _, command = await setup_command(chat, f"http://127.0.0.1:{bot_port}", build_registry())
    finally:
        await chat.close()
    config = tmp / "idlbot.toml"
    config.write_text(config_text(sim_url, db_url, bot_port))
    env = {**env, "IDLBOT_MATTERMOST_TOKEN": info["tokens"]["idlbot"], "IDLBOT_SLASH_TOKEN": command["token"]}
    world = World(sim, info, str(command["token"]), bot_port, config, env, names,
                  settings.roles.instructors[0])  # fmt: skip
    start = time.perf_counter()
    cli("migrate", "--config", str(config), env=env)
    world.setup_s["migrate"] = time.perf_counter() - start
    roster = tmp / "roster.csv"
    groups = [g.id for g in settings.course.groups]
    # no course-project team: teams have 2-4 members, and status does not read them
    rows = ["mattermost_username,gitlab_username,cluster_username,exercise_group,team"]
    rows += [f"{n},{n},{n},{groups[i % len(groups)]}," for i, n in enumerate(names)]
    roster.write_text("\n".join(rows) + "\n")
    start = time.perf_counter()
    cli("roster", "import", str(roster), "--config", str(config), env=env)
    world.setup_s["roster_import"] = time.perf_counter() - start
    start = time.perf_counter()
    await seed_hand_ins(db_url, names)
    world.setup_s["hand_ins"] = time.perf_counter() - start
    return world


async def seed_hand_ins(db_url: str, names: list[str]) -> None:
    """Hand-ins with random lateness (-20 h to +60 h around the deadline) for ~85 % of the
    due assignments, and a failed presentation for every 7th student, through the
    ledger's own writes. Students with the same lateness share one push (as a group's
    repository would), which keeps the set-up to a few hundred transactions."""
    course = load(example_config_path(), env=ENV).course
    engine = create_engine(db_url)
    ledger = SqlQualification(sessionmaker(engine), course)
    rng = random.Random(7)
    try:
        for a in course.assignments:
            if a.due >= NOW.astimezone(UTC):
                continue
            by_offset: dict[int, list[str]] = {}
            for name in names:
                if rng.random() < 0.85:
                    by_offset.setdefault(rng.randint(-20, 60), []).append(name)
            for n, (hours, members) in enumerate(sorted(by_offset.items())):
                pushed = (a.due - timedelta(hours=hours)).astimezone(UTC)
                push = TagPush(n, f"idl2018/assignments/{members[0]}", a.id, pushed, members[0])
                await ledger.record_tag_push(push, members)
        for name in names[::7]:
            await ledger.present(name, "a01", "fail", note="could not explain", by="tutor1", now=NOW)
    finally:
        await engine.dispose()
