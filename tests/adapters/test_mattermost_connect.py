"""The login that outlasts an outage, and the channel lookup that answers None, with the
driver's own exception types and a sleep that only records how long it was asked to wait."""

from __future__ import annotations

import logging

import httpx
import pytest
from mattermostautodriver.exceptions import NoAccessTokenProvided, ResourceNotFound

from idlbot.adapters.mattermost.connect import channel_id_or_none, log_in
from idlbot.domain.chat import MattermostUser


class Server:
    """`login()` fails with each of `failures` in turn, then answers."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def login(self) -> MattermostUser:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return MattermostUser(id="bot1", username="idlbot", timezone=None)

    async def channel_id(self, name: str) -> str:
        if name != "town-square":
            raise ResourceNotFound("Channel not found.", "store.sql_channel.get.missing", "r1", False)
        return "chan1"


def refused() -> Exception:
    return httpx.ConnectError("Connection refused")


def rejected() -> Exception:
    return NoAccessTokenProvided("Invalid or expired session.", "api.context.session_expired", "r2", False)


async def test_an_unreachable_server_is_retried_with_capped_backoff() -> None:
    server = Server(*(refused() for _ in range(6)))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    me = await log_in(server, backoff_base=1.0, backoff_cap=8.0, auth_retry=60.0, sleep=sleep)
    assert me.username == "idlbot" and server.calls == 7
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert len(waits) == 6
    assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True)), waits


async def test_a_rejected_token_is_loud_and_retried_slowly(caplog: pytest.LogCaptureFixture) -> None:
    server = Server(rejected(), rejected(), refused())
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    with caplog.at_level(logging.WARNING, logger="idlbot.adapters.mattermost.connect"):
        await log_in(server, backoff_base=1.0, backoff_cap=30.0, auth_retry=60.0, sleep=sleep)
    assert waits[:2] == [60.0, 60.0] and 0.5 <= waits[2] <= 1.0  # the 401s did not grow the backoff
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and "REJECTED the bot token (401)" in errors[0].getMessage()


async def test_an_unknown_channel_is_none() -> None:
    server = Server()
    assert await channel_id_or_none(server, "town-square") == "chan1"
    assert await channel_id_or_none(server, "no-such-channel") is None
