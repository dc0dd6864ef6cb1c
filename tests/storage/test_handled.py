"""SqlHandledPosts / SqlCursors on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.handled import SqlCursors, SqlHandledPosts

T0 = datetime(2024, 10, 1, 9, 0, tzinfo=UTC)


async def test_claim_once(engine: AsyncEngine) -> None:
    posts = SqlHandledPosts(sessionmaker(engine))
    assert not await posts.is_handled("p1")
    assert await posts.claim("p1", "c1", T0)
    assert await posts.is_handled("p1")
    assert not await posts.claim("p1", "c1", T0 + timedelta(seconds=1))
    assert await posts.claim("p2", "c1", T0)


async def test_claim_once_under_concurrency(db_url: str) -> None:
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        stores = [SqlHandledPosts(e) for e in engines]
        for post in ("p1", "p2", "p3"):
            results = await asyncio.gather(*(stores[n % 2].claim(post, "c", T0) for n in range(20)))
            assert results.count(True) == 1, (post, results)
    finally:
        for e in engines:
            await e.dispose()


async def test_prune(engine: AsyncEngine) -> None:
    posts = SqlHandledPosts(engine)
    await posts.claim("old", "c", T0)
    await posts.claim("new", "c", T0 + timedelta(days=10))
    assert await posts.prune(T0 + timedelta(days=1)) == 1
    assert await posts.claim("old", "c", T0)
    assert not await posts.claim("new", "c", T0)


async def test_cursors_only_move_forward(engine: AsyncEngine) -> None:
    cursors = SqlCursors(sessionmaker(engine))
    assert await cursors.get("c1") is None
    assert await cursors.all() == {}
    big = 1_727_773_200_123  # ms epoch: needs BIGINT
    assert await cursors.advance("c1", big)
    assert not await cursors.advance("c1", big - 1)
    assert not await cursors.advance("c1", big)
    assert await cursors.get("c1") == big
    assert await cursors.advance("c1", big + 5)
    assert await cursors.advance("c2", 7)
    assert await cursors.advance("*", 1)  # inbound's global cursor key
    assert await cursors.all() == {"c1": big + 5, "c2": 7, "*": 1}


async def test_cursors_advanced_together_only_move_forward(engine: AsyncEngine) -> None:
    cursors = SqlCursors(sessionmaker(engine))
    big = 1_727_773_200_123
    await cursors.advance_many({})
    await cursors.advance_many({"c1": big, "c2": 7})
    await cursors.advance_many({"c1": big - 1, "c2": 8, "c3": 1})  # c1 stays, the others move
    assert await cursors.all() == {"c1": big, "c2": 8, "c3": 1}


async def test_batches_of_two_replicas_keep_the_max_and_do_not_deadlock(db_url: str) -> None:
    """Both save the same channels at once, in opposite orders of their moves."""
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        stores = [SqlCursors(e) for e in engines]
        channels = [f"c{n}" for n in range(20)]
        batches = [
            {c: 1_000 + 10 * r + n for n, c in enumerate(channels if r % 2 else reversed(channels))}
            for r in range(10)
        ]
        await asyncio.gather(*(stores[r % 2].advance_many(b) for r, b in enumerate(batches)))
        assert await stores[0].all() == {c: max(b[c] for b in batches) for c in channels}
    finally:
        for e in engines:
            await e.dispose()


async def test_cursor_concurrent_advances_keep_the_max(db_url: str) -> None:
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        stores = [SqlCursors(e) for e in engines]
        values = [1_000 + (n * 37) % 50 for n in range(30)]
        await asyncio.gather(*(stores[n % 2].advance("c", v) for n, v in enumerate(values)))
        assert await stores[0].get("c") == max(values)
    finally:
        for e in engines:
            await e.dispose()
