"""Where the demo keeps its data, and the simulated servers' state across restarts.

The bot's database outlives a stop, and so must what it refers to: the outbox holds
posts for channel and user ids, and reminders name channels, that exist only in the
Mattermost simulator. A simulator that started empty would make every pending post fail
permanently. So both simulators' state (users, tokens, channels, posts, files; GitLab's
users, projects, tags, issues, hooks) is written to `sims.pickle` in the data directory
at start, every few seconds while running, and at stop, and read back on the next start
with the demo clock resuming where it stopped (time never runs backwards for the bot).

Pickle, not JSON: the states are the simulators' own dataclasses, and the file is the
user's own, written and read by the same installed version. If it cannot be read (a
different version, a damaged file), the demo starts clean, moves the old database aside
and says so: never a database without the server it belongs to.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from idlbot.devtools.sim.gitlab import GitLabSim
from idlbot.devtools.sim.mattermost import MattermostSim
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.dm_channels import SqlDmChannels

SNAPSHOT = "sims.pickle"
FORMAT = 1
DB_FILE = "idlbot.db"


def default_data_dir() -> Path:
    """Per user, outside any checkout, so `say` finds the demo from every directory:
    `$XDG_STATE_HOME/idlbot/demo`, else `~/.local/state/idlbot/demo`."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "idlbot" / "demo"


@dataclass
class Saved:
    """What a previous run left: its seeding results, secrets and where its clock stood."""

    info: dict[str, Any]
    world: dict[str, Any]
    webhook_secret: str
    slurm_secret: str
    clock_at: datetime


def save(data_dir: Path, mm: MattermostSim, gitlab: GitLabSim, saved: Saved) -> None:
    """Atomically: a crash mid-write leaves the previous snapshot."""
    gitlab_state = {k: v for k, v in vars(gitlab.state).items() if k != "clock"}
    blob = pickle.dumps(
        {"format": FORMAT, "mattermost": vars(mm.state), "gitlab": gitlab_state, "saved": saved}
    )
    tmp = data_dir / (SNAPSHOT + ".tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, data_dir / SNAPSHOT)


def load(data_dir: Path, mm: MattermostSim, gitlab: GitLabSim) -> Saved | None:
    """Restore both simulators in place (their parts share the state objects); None when
    there is no snapshot. Raises ValueError, saying why, when there is one but unusable."""
    path = data_dir / SNAPSHOT
    if not path.exists():
        return None
    try:
        data = pickle.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("written by another version")
        saved = data["saved"]
        if not isinstance(saved, Saved):
            raise ValueError("written by another version")
        vars(mm.state).update(data["mattermost"])
        vars(gitlab.state).update(data["gitlab"])
    except ValueError:
        raise
    except Exception as err:  # any unpickling problem means the same: start clean
        raise ValueError(f"{type(err).__name__}: {err}") from err
    return saved


def start_clean(data_dir: Path, stamp: str) -> str | None:
    """Move the previous run's database and snapshot aside; returns the database's new
    name (None when there was none)."""
    moved = None
    db = data_dir / DB_FILE
    if db.exists():
        moved_path = data_dir / f"{DB_FILE}.{stamp}.old"
        os.replace(db, moved_path)
        moved = moved_path.name
    snap = data_dir / SNAPSHOT
    if snap.exists():
        os.replace(snap, data_dir / f"{SNAPSHOT}.{stamp}.old")
    return moved


async def repair_dm_channels(database_url: str, mm: MattermostSim, info: dict[str, Any]) -> int:
    """A demo killed between two saves may have remembered a DM channel (the bot's
    database) that the restored simulator never saw; posts to it would fail for good. Make
    those channels again and remember the new ids. Returns how many were made."""
    engine = create_engine(database_url)
    made = 0
    try:
        channels = SqlDmChannels(sessionmaker(engine))
        bot = info["users"]["idlbot"]
        for user in info["users"].values():
            known = await channels.get(bot, user)
            if known is not None and known not in mm.state.channels:
                await channels.remember(bot, user, mm.direct_channel(bot, user)["id"])
                made += 1
    finally:
        await engine.dispose()
    return made
