"""One "bot process" for the two-process test: fires the same 100 occurrences as its
twin on one PostgreSQL database and writes the keys it sent, one per line.

Run as `python -m tests.reminders.fire_worker DB_URL OUT START_AT` (START_AT: a Unix
time both processes wait for, so their firing really overlaps)."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from idlbot.config import load
from idlbot.domain.reminders import Occurrence, Target
from idlbot.services.reminder_firing import fire
from idlbot.storage.db import create_engine
from tests.reminders.conftest import ENV, ROOT, make_rig

T0 = datetime(2018, 10, 22, 10, tzinfo=UTC)


def occurrences() -> list[Occurrence]:
    return [
        Occurrence(
            f"rem:custom:{i}:x", "custom", T0, Target("channel", "questions"), f"n{i}", timedelta(hours=1)
        )
        for i in range(100)
    ]


async def main(db_url: str, start_at: float) -> list[str]:
    settings = load(ROOT / "config.example.toml", env=ENV)
    engine = create_engine(db_url, pool_size=5)
    try:
        rig = make_rig(engine, settings)
        delay = start_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        mine = [o.key for o in occurrences() if await fire(rig.deps, o, T0) == "sent"]
    finally:
        await engine.dispose()
    return mine


if __name__ == "__main__":
    sent = asyncio.run(main(sys.argv[1], float(sys.argv[3])))
    Path(sys.argv[2]).write_text("\n".join(sent))
