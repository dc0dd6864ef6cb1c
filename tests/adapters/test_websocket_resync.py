"""The websocket supervisor and the re-sync it starts on each connect, over a real socket
to the simulator."""

from __future__ import annotations

import asyncio

from idlbot.adapters.mattermost.websocket import WebsocketSupervisor
from tests.sim.support import World


async def test_a_resync_in_flight_finishes_when_the_socket_closes(world: World) -> None:
    """Stopping (or a drop) lets the re-sync run to its end instead of cancelling it in the
    middle of a database write, which on SQLite left the write lock held after the stop."""
    started, finished = asyncio.Event(), asyncio.Event()

    async def resync() -> None:
        started.set()
        await asyncio.sleep(0.3)  # stands for the re-sync's REST reads and cursor writes
        finished.set()

    async def auth_ok() -> bool:
        return True

    supervisor = WebsocketSupervisor(
        world.sim.url, world.bot_token, on_event=lambda frame: None, on_connected=resync, auth_ok=auth_ok
    )
    running = asyncio.create_task(supervisor.run())
    await asyncio.wait_for(started.wait(), 5)
    await supervisor.stop()
    await asyncio.wait_for(running, 5)
    assert finished.is_set()
