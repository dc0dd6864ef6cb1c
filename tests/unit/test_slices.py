"""`in_slices` gives the loop back between slices, so a slash command waits one slice of
an overview's evaluations, not all of them."""

from __future__ import annotations

import asyncio

from idlbot.slices import in_slices


async def test_other_tasks_run_between_slices_and_nothing_is_lost() -> None:
    seen: list[int] = []
    interleaved: list[int] = []

    async def other() -> None:
        while len(seen) < 100:
            interleaved.append(len(seen))
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    await asyncio.sleep(0)  # let it start
    async for n in in_slices(range(100), every=25):
        seen.append(n)
    await task
    assert seen == list(range(100))
    assert {25, 50, 75} <= set(interleaved)  # ran after each slice
    assert not set(interleaved) & {1, 24, 26, 99}  # and never inside one


async def test_a_short_list_never_yields() -> None:
    assert [n async for n in in_slices([1, 2, 3])] == [1, 2, 3]
