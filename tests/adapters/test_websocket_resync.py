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


async def test_a_drop_reads_as_disconnected_while_the_resync_winds_down(world: World) -> None:
    """`connected` is what health, the outbox and the tests read; it turns False when the
    socket closes, not when the re-sync (still retrying REST against a server that is gone,
    up to its grace of 10 s) has ended. In CI an outage test saw "connected" for 5 s after
    the simulator stopped."""
    started, release = asyncio.Event(), asyncio.Event()

    async def resync() -> None:
        started.set()
        await release.wait()  # stands for REST reads retrying while Mattermost is down

    async def auth_ok() -> bool:
        return True

    supervisor = WebsocketSupervisor(
        world.sim.url,
        world.bot_token,
        on_event=lambda frame: None,
        on_connected=resync,
        auth_ok=auth_ok,
        backoff_base=0.05,
        backoff_cap=0.1,
    )
    running = asyncio.create_task(supervisor.run())
    try:
        await asyncio.wait_for(started.wait(), 5)
        assert supervisor.connected
        await world.sim.hub.drop_all(1001)
        for _ in range(100):
            if not supervisor.connected:
                break
            await asyncio.sleep(0.01)
        assert not supervisor.connected
        assert not release.is_set()
        release.set()
        # after the re-sync ends, the supervisor reconnects and counts the earlier hello
        for _ in range(500):
            if supervisor.connected and supervisor.reconnects == 1:
                break
            await asyncio.sleep(0.01)
        assert supervisor.reconnects == 1
        # a connected session resets the backoff: a second drop is attempt 1 again, not 2
        await world.sim.hub.drop_all(1001)
        for _ in range(500):
            if supervisor.connected and supervisor.reconnects == 2:
                break
            await asyncio.sleep(0.01)
        assert supervisor.reconnects == 2
        assert supervisor.failed_attempts == 1
    finally:
        release.set()
        await supervisor.stop()
        await asyncio.wait_for(running, 5)
