"""The whole bot on a shifted course clock (`--pretend-now`, the demo) takes the
MailProg's events: their signature's replay window is checked against the real time the
MailProg stamps, not against course time (which refused every event before)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import aiohttp

from idlbot.adapters.slurm.mailprog import SIGNATURE_HEADER, TIMESTAMP_HEADER, build_event, sign
from tests.app.conftest import make_harness

SECRET = "slurm-secret-for-the-e2e-test"


async def test_a_bot_on_a_shifted_clock_takes_a_freshly_signed_job_event(db_url: str, tmp_path: Path) -> None:
    h = await make_harness(db_url)
    for tool in ("sacct", "squeue", "sinfo", "scontrol"):  # no cluster is asked anything here
        (tmp_path / tool).write_text("#!/bin/sh\nexit 0\n")
        (tmp_path / tool).chmod(0o755)
    try:
        h.settings = replace(
            h.settings,
            slurm=replace(
                h.settings.slurm, enabled=True, bin_dir=str(tmp_path), spool_dir=str(tmp_path / "spool")
            ),
            secrets=replace(h.settings.secrets, slurm_secret=SECRET),
        )
        bot = await h.start_bot()
        assert bot.clock.now().year == 2018  # the harness runs the 2018 course today
        now = int(time.time())
        env = {"SLURM_JOB_ID": "4242", "SLURM_CLUSTER_NAME": "idl-gpu", "SLURM_JOB_MAIL_TYPE": "END"}
        event = {**build_event(["-s", "Slurm Job_id=4242 Ended", "alice"], env, now), "sent_at": now}
        body = json.dumps(event, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(SECRET.encode(), body),
                   TIMESTAMP_HEADER: str(now)}  # fmt: skip
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"http://127.0.0.1:{bot.port}/slurm/event", data=body, headers=headers) as resp,
        ):
            assert resp.status == 202, await resp.text()
    finally:
        await h.close()
