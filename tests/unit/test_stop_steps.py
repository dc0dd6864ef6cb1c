"""A stop names each step that took too long, so an operator sees which one it was."""

from __future__ import annotations

import asyncio
import logging

import pytest

from idlbot import app


async def test_a_slow_step_is_named_and_a_quick_one_is_not(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="idlbot.app")
    await app._timed("quick", asyncio.sleep(0))
    assert not caplog.records
    monkeypatch.setattr(app, "SLOW_STEP", -1.0)  # every step is "slow": no wall-clock wait
    with pytest.raises(RuntimeError):
        await app._timed("chart renderer", _fails())
    assert [r.getMessage().split(" took ")[0] for r in caplog.records] == ["stopping: chart renderer"]


async def _fails() -> None:
    raise RuntimeError("broken")
