"""Revision 0017 on SQLite and PostgreSQL, on a database filled by the schema of 0014:
every row of the agenda, summary-rota and presenter-rota tables is kept column by column
and belongs to course one afterwards ("idl" when `idlbot migrate` names it, else
"main"); `course` leads every key, so another course may reuse a class date, an iid, a
slug or a team; the downgrade restores the old keys and every row."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from idlbot.storage.db import create_engine, downgrade, upgrade
from tests.migrations.support import execute, naive_utc

BEFORE, AFTER = "0014_leases", "0017_course_agenda"
T0 = datetime(2018, 10, 16, 10, 0, tzinfo=UTC)
D1, D2 = date(2018, 10, 17), date(2018, 10, 24)
_AT = sa.DateTime(timezone=True)


def _table(name: str, *columns: tuple[str, Any]) -> sa.TableClause:
    return sa.table(name, *(sa.column(c, t) for c, t in columns))


STUDENTS = _table("students", ("id", sa.Integer), ("mattermost", sa.String), ("team_id", sa.String),
                  ("active", sa.Boolean), ("updated_at", _AT))  # fmt: skip
ITEM = {"iid": 3, "title": "Why ReLU?", "author": "s1", "upvotes": 4, "notes": 1,
        "web_url": "https://gitlab.example/idl/issues/3", "created_at": T0.isoformat(),
        "carried_over": False}  # fmt: skip

# table -> (its columns at 0014, its key columns at 0014 to order by, rows with every column)
DATA: dict[str, tuple[sa.TableClause, tuple[str, ...], list[dict[str, Any]]]] = {
    "agenda_frozen": (
        _table("agenda_frozen", ("class_date", sa.Date), ("cutoff_at", _AT), ("frozen_at", _AT),
               ("revision", sa.Integer), ("items", sa.JSON), ("ranking", sa.JSON), ("labeled", sa.JSON),
               ("post_revision", sa.Integer), ("wiki_revision", sa.Integer),
               ("labels_revision", sa.Integer), ("last_error", sa.Text)),
        ("class_date",),
        [
            {"class_date": D1, "cutoff_at": T0, "frozen_at": T0 + timedelta(seconds=5), "revision": 2,
             "items": [ITEM], "ranking": [3, 5], "labeled": [3], "post_revision": 2, "wiki_revision": 1,
             "labels_revision": 2, "last_error": "wiki: 502"},
            {"class_date": D2, "cutoff_at": T0 + timedelta(7), "frozen_at": T0 + timedelta(7), "revision": 1,
             "items": [], "ranking": [], "labeled": [], "post_revision": 0, "wiki_revision": 0,
             "labels_revision": 0, "last_error": None},
        ],
    ),
    "agenda_done": (
        _table("agenda_done", ("iid", sa.Integer), ("done_at", _AT), ("done_by", sa.String)),
        ("iid",),
        [{"iid": 3, "done_at": T0, "done_by": "sstober"},
         {"iid": 5, "done_at": T0 + timedelta(1), "done_by": "jens"}],
    ),
    "agenda_skips": (
        _table("agenda_skips", ("class_date", sa.Date), ("iid", sa.Integer), ("skipped_at", _AT),
               ("skipped_by", sa.String)),
        ("class_date", "iid"),
        [{"class_date": D1, "iid": 5, "skipped_at": T0, "skipped_by": "sstober"},
         {"class_date": D1, "iid": 6, "skipped_at": T0, "skipped_by": "sstober"},
         {"class_date": D2, "iid": 5, "skipped_at": T0 + timedelta(7), "skipped_by": "jens"}],
    ),
    "summary_picks": (
        _table("summary_picks", ("class_date", sa.Date), ("writer", sa.String), ("how", sa.String),
               ("announced", sa.Boolean), ("revision", sa.Integer), ("picked_at", _AT), ("changed_at", _AT)),
        ("class_date",),
        [{"class_date": D1, "writer": "alice", "how": "auto", "announced": True, "revision": 1,
          "picked_at": T0, "changed_at": T0},
         {"class_date": D2, "writer": "bob", "how": "swapped", "announced": False, "revision": 3,
          "picked_at": T0 + timedelta(7), "changed_at": T0 + timedelta(8)}],
    ),
    "summary_excuses": (
        _table("summary_excuses", ("id", sa.Integer), ("class_date", sa.Date), ("username", sa.String),
               ("by", sa.String), ("at", _AT)),
        ("id",),
        [{"id": 1, "class_date": D1, "username": "carol", "by": "sstober", "at": T0},
         {"id": 2, "class_date": D2, "username": "carol", "by": "jens", "at": T0 + timedelta(1)}],
    ),
    "summary_swaps": (
        _table("summary_swaps", ("id", sa.Integer), ("class_date", sa.Date), ("asker", sa.String),
               ("other", sa.String), ("state", sa.String), ("asked_at", _AT), ("answered_at", _AT)),
        ("id",),
        [{"id": 1, "class_date": D2, "asker": "bob", "other": "alice", "state": "declined", "asked_at": T0,
          "answered_at": T0 + timedelta(hours=2)},
         {"id": 2, "class_date": D2, "asker": "bob", "other": "carol", "state": "pending",
          "asked_at": T0 + timedelta(hours=3), "answered_at": None}],
    ),
    "summary_pages": (
        _table("summary_pages", ("slug", sa.String), ("class_date", sa.Date), ("author", sa.String),
               ("created_at", _AT)),
        ("slug",),
        [{"slug": "summaries/2018-10-17", "class_date": D1, "author": "alice",
          "created_at": T0 + timedelta(1)},
         {"slug": "summaries/2018-10-24-b", "class_date": D2, "author": "bob",
          "created_at": T0 + timedelta(8)}],
    ),
    "presenter_proposals": (
        _table("presenter_proposals", ("id", sa.Integer), ("team_id", sa.String), ("class_day", sa.Date),
               ("student_id", sa.Integer), ("at", _AT)),
        ("id",),
        [{"id": 1, "team_id": "team-a", "class_day": D1, "student_id": 1, "at": T0},
         {"id": 2, "team_id": "team-a", "class_day": D2, "student_id": 2, "at": T0 + timedelta(7)}],
    ),
    "team_presentations": (
        _table("team_presentations", ("id", sa.Integer), ("team_id", sa.String), ("class_day", sa.Date),
               ("student_id", sa.Integer), ("by", sa.String), ("at", _AT)),
        ("id",),
        [{"id": 1, "team_id": "team-a", "class_day": D1, "student_id": 1, "by": "sstober", "at": T0},
         {"id": 2, "team_id": "team-a", "class_day": D1, "student_id": 2, "by": "sstober", "at": T0},
         {"id": 3, "team_id": "team-a", "class_day": D2, "student_id": 1, "by": "jens",
          "at": T0 + timedelta(7)}],
    ),
}  # fmt: skip


async def _fill(url: str) -> None:
    await upgrade(url, BEFORE)
    await execute(url, STUDENTS.insert().values([
        {"id": 1, "mattermost": "alice", "team_id": "team-a", "active": True, "updated_at": T0},
        {"id": 2, "mattermost": "bob", "team_id": "team-a", "active": True, "updated_at": T0},
    ]))  # fmt: skip
    for table, _, rows in DATA.values():
        await execute(url, table.insert().values(rows))


def _expected(name: str, *extra: Any) -> list[tuple[Any, ...]]:
    table, _, rows = DATA[name]
    return naive_utc([(*(row[c.name] for c in table.c), *extra) for row in rows])


async def _rows(url: str, name: str, *extra: str) -> list[tuple[Any, ...]]:
    table, key, _ = DATA[name]
    columns = [*table.c, *(sa.column(c) for c in extra)]
    return naive_utc(
        await execute(url, sa.select(*columns).select_from(table).order_by(*(table.c[k] for k in key)))
    )


async def _keys(url: str) -> dict[str, Any]:
    """Each table's primary key, unique constraints and indexes (names and columns)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:

            def look(c: sa.Connection) -> dict[str, Any]:
                inspector = sa.inspect(c)
                return {
                    name: (
                        (inspector.get_pk_constraint(name)["name"],
                         inspector.get_pk_constraint(name)["constrained_columns"]),
                        sorted((u["name"], u["column_names"])
                               for u in inspector.get_unique_constraints(name)),
                        sorted((i["name"], i["column_names"]) for i in inspector.get_indexes(name)
                               if not i.get("duplicates_constraint")),
                        [col["name"] for col in inspector.get_columns(name)],
                    )
                    for name in DATA
                }  # fmt: skip

            return await conn.run_sync(look)
    finally:
        await engine.dispose()


async def test_every_row_is_kept_and_belongs_to_the_course_named(empty_db_url: str) -> None:
    url = empty_db_url
    await _fill(url)
    old_keys = await _keys(url)
    for name in DATA:
        assert await _rows(url, name) == _expected(name), name
    await upgrade(url, AFTER, course_one="idl")
    for name in DATA:
        assert await _rows(url, name, "course") == _expected(name, "idl"), name
    keys = await _keys(url)
    assert keys["agenda_frozen"][0] == ("pk_agenda_frozen", ["course", "class_date"])
    assert keys["agenda_done"][0] == ("pk_agenda_done", ["course", "iid"])
    assert keys["agenda_skips"][0] == ("pk_agenda_skips", ["course", "class_date", "iid"])
    assert keys["summary_picks"][0] == ("pk_summary_picks", ["course", "class_date"])
    assert keys["summary_pages"][0] == ("pk_summary_pages", ["course", "slug"])
    assert keys["summary_excuses"][1] == [
        ("uq_summary_excuses_course_class_date_username", ["course", "class_date", "username"])
    ]
    assert keys["presenter_proposals"][1] == [
        ("uq_presenter_proposals_course_team_id_class_day", ["course", "team_id", "class_day"])
    ]
    assert keys["team_presentations"][1] == [
        ("uq_team_presentations_course_team_id_class_day_student_id",
         ["course", "team_id", "class_day", "student_id"])
    ]  # fmt: skip
    assert ("ix_summary_swaps_course_class_date", ["course", "class_date"]) in keys["summary_swaps"][2]
    assert ("ix_summary_pages_course_class_date", ["course", "class_date"]) in keys["summary_pages"][2]

    await downgrade(url, BEFORE)
    assert await _keys(url) == old_keys
    for name in DATA:
        assert await _rows(url, name) == _expected(name), name


async def test_without_a_course_named_the_rows_are_the_default_courses_and_keys_free(
    empty_db_url: str,
) -> None:
    url = empty_db_url
    await _fill(url)
    await upgrade(url, AFTER)
    for name in DATA:
        assert await _rows(url, name, "course") == _expected(name, "main"), name
    # another course may now reuse every old key
    for name, (table, _, rows) in DATA.items():
        fresh = [{**row, "course": "nlp"} for row in rows if "id" not in row]
        again = [{**row, "id": row["id"] + 100, "course": "nlp"} for row in rows if "id" in row]
        with_course = _table(name, *((c.name, c.type) for c in table.c), ("course", sa.String))
        await execute(url, with_course.insert().values(fresh or again))
        counted = await execute(url, sa.select(sa.func.count()).select_from(table))
        assert counted == [(2 * len(rows),)], name
