"""The /slurm/event route served on 127.0.0.1 (free port), and the MailProg wrapper's config,
for the route and cluster tests here and the whole-bot tests in tests/app."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from idlbot.services.jobs import JobNotifier
from idlbot.web.slurm import SlurmEventDeps, add_slurm_routes
from tests.slurm.conftest import Cluster

SECRET = "test-secret-for-hmac"
MAIL = ("--mail-type=END,FAIL", "--mail-user=root")


def point_mailprog(slurm_up: Cluster, url: str) -> Path:
    """Aim the MailProg wrapper at `url` (slurmctld gives MailProg no environment: the config
    file is the way in); returns its spool directory."""
    spool = slurm_up.mail_dir / "spool"
    secret = slurm_up.mail_config.parent / "secret"
    secret.write_text(SECRET + "\n")
    os.chmod(secret, 0o600)
    slurm_up.mail_config.write_text(
        f'spool_dir = "{spool}"\nbot_url = "{url}"\nsecret_file = "{secret}"\ntimeout = 2\n'
    )
    return spool


@asynccontextmanager
async def serve(notifier: JobNotifier, secret: str = SECRET) -> AsyncIterator[str]:
    """Yield the route's URL while it is served."""
    app = web.Application()
    add_slurm_routes(app, SlurmEventDeps(secret=secret.encode(), notifier=notifier))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/slurm/event"
    finally:
        await runner.cleanup()
