"""The /slurm/event route served on 127.0.0.1 (free port), for the route and cluster tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from idlbot.clock import Clock
from idlbot.job_notify import JobNotifier
from idlbot.web.slurm import SlurmEventDeps, add_slurm_routes

SECRET = "test-secret-for-hmac"


@asynccontextmanager
async def serve(notifier: JobNotifier, clock: Clock, secret: str = SECRET) -> AsyncIterator[str]:
    """Yield the route's URL while it is served."""
    app = web.Application()
    add_slurm_routes(app, SlurmEventDeps(secret=secret.encode(), notifier=notifier, clock=clock))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/slurm/event"
    finally:
        await runner.cleanup()
