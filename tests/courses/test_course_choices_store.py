"""The stored course choice of a user in several courses: asked once (also when two
replicas answer two DMs of the same user at once), then changed only by `/idl use`.
Both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.ports.course_choice import Choice
from idlbot.storage.course_choices import SqlCourseChoices
from idlbot.storage.db import sessionmaker

T0 = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
USER = "u" * 26


async def test_asked_once_then_chosen(engine: AsyncEngine) -> None:
    store = SqlCourseChoices(sessionmaker(engine))
    assert await store.get(USER) is None
    assert await store.ask(USER, "idl", T0) is True
    assert await store.ask(USER, "nlp", T0) is False  # asked already: nothing changes
    assert await store.get(USER) == Choice("idl", chosen=False)
    await store.choose(USER, "nlp", T0 + timedelta(minutes=1))
    assert await store.get(USER) == Choice("nlp", chosen=True)
    assert await store.ask(USER, "idl", T0) is False
    await store.choose(USER, "idl", T0 + timedelta(minutes=2))
    assert await store.get(USER) == Choice("idl", chosen=True)


async def test_two_replicas_asking_at_once_ask_once(engine: AsyncEngine) -> None:
    stores = [SqlCourseChoices(sessionmaker(engine)) for _ in range(2)]
    results = await asyncio.gather(*(s.ask(USER, "idl", T0) for s in stores for _ in range(3)))
    assert sorted(results) == [False] * 5 + [True]
