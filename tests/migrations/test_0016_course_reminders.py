"""Revision 0016 on SQLite and PostgreSQL, on a database filled by the schema of 0014 (the
previous release): every reminder, firing, mute, calendar token and announcement is kept
column by column and belongs to course one afterwards (the id `idlbot migrate` passes,
else "main"); the course-bound stores find them; maintenance windows are not touched; the
downgrade restores the old keys and every row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from idlbot.storage.announce import SqlAnnouncementStore
from idlbot.storage.db import create_engine, downgrade, upgrade
from idlbot.storage.reminders import SqlReminderStore, calendar_course
from tests.migrations.support import execute

T0 = datetime(2018, 10, 23, 8, 0, tzinfo=UTC)
BEFORE, AFTER = "0014_leases", "0016_course_reminders"
_AT = sa.DateTime(timezone=True)


def _table(name: str, *columns: tuple[str, Any]) -> sa.TableClause:
    return sa.table(name, *(sa.column(c, t) for c, t in columns))


CUSTOM = _table(
    "reminder_custom", ("id", sa.Integer), ("kind", sa.String), ("first_at", _AT), ("channel", sa.String),
    ("text", sa.Text), ("created_by", sa.String), ("created_by_id", sa.String), ("created_at", _AT),
    ("cancelled", sa.Boolean),
)  # fmt: skip
FIRINGS = _table(
    "reminder_firings", ("id", sa.Integer), ("key", sa.String), ("kind", sa.String), ("fire_at", _AT),
    ("target", sa.String), ("state", sa.String), ("claimed_at", _AT), ("decided_at", _AT),
    ("reason", sa.Text), ("outbox_key", sa.String), ("fanout", sa.Integer),
)  # fmt: skip
MUTES = _table("reminder_mutes", ("user_id", sa.String), ("kind", sa.String), ("muted_at", _AT))
TOKENS = _table(
    "calendar_tokens",
    ("user_id", sa.String),
    ("token", sa.String),
    ("username", sa.String),
    ("created_at", _AT),
)
ANNOUNCEMENTS = _table(
    "announcements", ("id", sa.Integer), ("state", sa.String), ("channel_id", sa.String),
    ("channel_name", sa.String), ("text", sa.Text), ("notify", sa.String), ("post_at", _AT),
    ("created_by", sa.String), ("created_by_id", sa.String), ("created_at", _AT), ("token", sa.String),
    ("updated_at", _AT),
)  # fmt: skip
WINDOWS = _table(
    "maint_windows", ("id", sa.Integer), ("key_base", sa.String), ("name", sa.String), ("start", _AT),
    ("end", _AT), ("reason", sa.Text), ("source", sa.String), ("created_by", sa.String),
    ("first_seen_at", _AT), ("announced_at", _AT), ("reminded_at", _AT), ("up_at", _AT),
    ("cancelled_at", _AT), ("warned_jobs", sa.JSON),
)  # fmt: skip
OURS = (CUSTOM, FIRINGS, MUTES, TOKENS, ANNOUNCEMENTS)
ORDER = {"reminder_mutes": ("user_id", "kind"), "calendar_tokens": ("user_id",)}

U1, U2, U3 = ("u" + c * 25 for c in "abc")
H = timedelta(hours=1)
ROWS: dict[sa.TableClause, list[dict[str, Any]]] = {
    CUSTOM: [
        dict(kind="once", first_at=T0, channel="questions", text="Two hours left", created_by="sstober",
             created_by_id=None, created_at=T0 - H, cancelled=False),
        dict(kind="weekly", first_at=T0 + H, channel="group1", text="Laptops", created_by="tutor1",
             created_by_id=U1, created_at=T0, cancelled=True),
        dict(kind="weekly", first_at=T0 + 2 * H, channel="town-square", text="Quiz", created_by="tutor2",
             created_by_id=U2, created_at=T0, cancelled=False),
    ],
    FIRINGS: [
        dict(key="rem:assignment:ex01:-1d", kind="assignment", fire_at=T0, target="#town-square",
             state="sent", claimed_at=T0, decided_at=T0 + H, reason="posted",
             outbox_key="rem:assignment:ex01:-1d", fanout=0),
        dict(key="rem:nudge:ex01", kind="nudge", fire_at=T0, target="students", state="skipped",
             claimed_at=T0, decided_at=T0, reason="holiday", outbox_key=None, fanout=3),
        dict(key="rem:custom:2", kind="custom", fire_at=T0 + H, target="#group1", state="claimed",
             claimed_at=T0 + H, decided_at=None, reason=None, outbox_key=None, fanout=0),
    ],
    MUTES: [
        dict(user_id=U1, kind="nudges", muted_at=T0),
        dict(user_id=U1, kind="sessions", muted_at=T0 + H),
        dict(user_id=U2, kind="nudges", muted_at=T0 + 2 * H),
    ],
    TOKENS: [
        dict(user_id=U1, token="t" * 32, username="alice", created_at=T0),
        dict(user_id=U2, token="s" * 32, username="bob", created_at=T0 + H),
        dict(user_id=U3, token="r" * 32, username="carol", created_at=T0 + 2 * H),
    ],
    ANNOUNCEMENTS: [
        dict(state="draft", channel_id="c" * 26, channel_name="town-square", text="Exam room", notify="none",
             post_at=None, created_by="sstober", created_by_id=U1, created_at=T0, token="k1", updated_at=T0),
        dict(state="scheduled", channel_id="d" * 26, channel_name="questions", text="Q&A", notify="channel",
             post_at=T0 + H, created_by="tutor1", created_by_id=U2, created_at=T0, token="k2",
             updated_at=T0 + H),
        dict(state="queued", channel_id="c" * 26, channel_name="town-square", text="Slides", notify="all",
             post_at=T0, created_by="sstober", created_by_id=U1, created_at=T0, token="k3", updated_at=T0),
    ],
    WINDOWS: [
        dict(key_base="maint-1@2018-10-24", name="maint-1", start=T0, end=T0 + H, reason="kernel",
             source="slurm", created_by=None, first_seen_at=T0, announced_at=T0, reminded_at=None,
             up_at=None, cancelled_at=None, warned_jobs=[17, 4]),
    ],
}  # fmt: skip


def _all(table: sa.TableClause, *extra: str) -> sa.Select[Any]:
    order = ORDER.get(table.name, ("id",))
    return sa.select(*table.c, *(sa.column(c) for c in extra)).order_by(*(table.c[c] for c in order))


async def _rows(url: str, *extra: str) -> dict[str, list[tuple[Any, ...]]]:
    return {t.name: await execute(url, _all(t, *extra)) for t in OURS}


def _shape(i: sa.Inspector, table: str) -> tuple[Any, ...]:
    """A table's columns, primary key, unique constraints and indexes, with their names."""
    pk = i.get_pk_constraint(table)
    return (
        [c["name"] for c in i.get_columns(table)],
        (pk["name"], pk["constrained_columns"]),
        sorted((u["name"], tuple(u["column_names"])) for u in i.get_unique_constraints(table)),
        sorted(
            (x["name"], tuple(x["column_names"]))
            for x in i.get_indexes(table)
            if "duplicates_constraint" not in x  # PostgreSQL's index behind a UNIQUE
        ),
    )


async def _keys(url: str) -> dict[str, tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: {t.name: _shape(sa.inspect(c), t.name) for t in (*OURS, WINDOWS)}
            )
    finally:
        await engine.dispose()


@pytest.mark.parametrize(("given", "course"), [("idl", "idl"), (None, "main")])
async def test_every_row_is_kept_in_course_one_and_the_old_keys_come_back(
    empty_db_url: str, given: str | None, course: str
) -> None:
    url = empty_db_url
    await upgrade(url, BEFORE)
    for table, rows in ROWS.items():
        await execute(url, table.insert().values(rows))
    before, windows, old_keys = await _rows(url), await execute(url, _all(WINDOWS)), await _keys(url)
    assert all(len(rows) == 3 for rows in before.values())

    await upgrade(url, AFTER, course_one=given)
    assert await _rows(url, "course") == {t: [(*r, course) for r in rows] for t, rows in before.items()}
    assert await execute(url, _all(WINDOWS)) == windows
    new_keys = await _keys(url)
    assert new_keys[WINDOWS.name] == old_keys[WINDOWS.name]
    assert new_keys["reminder_mutes"][1] == ("pk_reminder_mutes", ["course", "user_id", "kind"])
    assert new_keys["calendar_tokens"][1:3] == (
        ("pk_calendar_tokens", ["course", "user_id"]),
        [("uq_calendar_tokens_token", ("token",))],
    )
    assert new_keys["reminder_firings"][2:] == (
        [("uq_reminder_firings_course_key", ("course", "key"))],
        [("ix_reminder_firings_course_fire_at", ("course", "fire_at"))],
    )
    engine = create_engine(url)
    try:
        store, other = SqlReminderStore(engine, course=course), SqlReminderStore(engine, course="nlp")
        assert [c.text for c in await store.customs()] == ["Two hours left", "Quiz"]
        assert await store.muted("nudges") == {U1, U2} and await other.muted("nudges") == set()
        assert (
            await store.calendar_user("s" * 32) == (U2, "bob") and await other.calendar_user("s" * 32) is None
        )
        assert await calendar_course(engine, "r" * 32) == course
        assert set(await store.states(since=T0)) == {
            "rem:assignment:ex01:-1d",
            "rem:nudge:ex01",
            "rem:custom:2",
        }
        assert [a.text for a in await SqlAnnouncementStore(engine, course=course).scheduled()] == ["Q&A"]
        assert await SqlAnnouncementStore(engine, course="nlp").scheduled() == []
    finally:
        await engine.dispose()

    await downgrade(url, BEFORE)
    assert await _keys(url) == old_keys
    assert await _rows(url) == before and await execute(url, _all(WINDOWS)) == windows
