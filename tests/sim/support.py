"""Shared helpers for the simulator tests (importable, unlike conftest)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mattermostautodriver import AsyncTypedDriver

from idlbot.devtools.sim.mattermost import MattermostSim


@dataclass
class World:
    """The seeded course: team `idl`, bot `idlbot` (team admin), students alice and bob."""

    sim: MattermostSim
    team: dict[str, Any]
    bot: dict[str, Any]
    bot_token: str
    alice: dict[str, Any]
    alice_token: str
    bob: dict[str, Any]
    town: dict[str, Any]
    general: dict[str, Any]
    private: dict[str, Any]


def make_driver(sim: MattermostSim, token: str, **extra: Any) -> AsyncTypedDriver:
    options = {"scheme": "http", "url": "127.0.0.1", "port": sim.port, "token": token, "request_timeout": 5}
    options.update(extra)
    return AsyncTypedDriver(options)
