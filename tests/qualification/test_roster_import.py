"""Roster CSV: exact header, line-numbered errors, all-or-nothing, idempotent re-import."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.cli import ProgressBar
from idlbot.domain.ledger import Student
from idlbot.domain.roster import parse_roster
from idlbot.ports.qualification import RosterCounts
from idlbot.services.roster_import import import_roster
from idlbot.storage.roster import SqlRoster
from tests.qualification.support import HEADER, T0, at, course, roster_csv

GOOD = [
    ("alice", "alice", "alice01", "g1", "lyrics-a"),
    ("Bob", "@Bob.B", "", "g2", ""),
    ("carol", "", "", "", "lyrics-b"),
]


def test_parse_normalises_and_allows_empty_optional_fields() -> None:
    rows, errors = parse_roster(roster_csv(GOOD), course())
    assert errors == []
    assert [r.line for r in rows] == [2, 3, 4]
    assert rows[1].student == Student("bob", gitlab="bob.b", group_id="g2")
    assert rows[2].student == Student("carol", team_id="lyrics-b")


def test_header_in_any_order_and_case() -> None:
    text = "Team,exercise_group,cluster_username,gitlab_username,MATTERMOST_USERNAME\nlyrics-a,g1,,al,alice\n"
    rows, errors = parse_roster(text, course())
    assert errors == []
    assert rows[0].student == Student("alice", gitlab="al", group_id="g1", team_id="lyrics-a")


def test_unknown_and_missing_columns_are_named_on_line_1() -> None:
    text = "mattermost_username,gitlab_user,cluster_username,exercise_group,teams\nalice,a,,g1,\n"
    rows, errors = parse_roster(text, course())
    assert rows == []
    assert len(errors) == 1 and errors[0].line == 1
    message = str(errors[0])
    assert message.startswith("line 1: ")
    assert "'gitlab_user'" in message and "'teams'" in message
    assert "missing column(s): gitlab_username, team" in message


def test_empty_file() -> None:
    assert [e.line for e in parse_roster("", course())[1]] == [1]


def test_every_bad_line_is_reported_with_its_number() -> None:
    text = (
        HEADER
        + "alice,alice,,g1,lyrics-a\n"  # 2 ok
        + "x,bob,,g1,\n"  # 3 mattermost too short
        + "\n"  # 4 blank: skipped
        + "dave,dave,,g9,\n"  # 5 unknown group
        + "erin,erin,,g1,nope\n"  # 6 unknown team
        + "frank,frank\n"  # 7 wrong field count
        + "alice,other,,g1,\n"  # 8 duplicate mattermost
        + "gina,ALICE,,g1,\n"  # 9 duplicate gitlab (case-insensitive)
        + "hank,bad name,9root!,g1,\n"  # 10 bad gitlab and cluster usernames
    )
    rows, errors = parse_roster(text, course())
    assert [r.student.mattermost for r in rows] == ["alice"]
    assert [e.line for e in errors] == [3, 5, 6, 7, 8, 9, 10, 10]
    text_of = {e.line: e.message for e in errors}
    assert "Mattermost username 'x'" in text_of[3]
    assert "unknown exercise group 'g9'" in text_of[5] and "g1, g2, g3" in text_of[5]
    assert "unknown team 'nope'" in text_of[6]
    assert "expected 5 fields, got 2" in text_of[7]
    assert "already used on line 2" in text_of[8]
    assert "GitLab username 'alice' already used on line 2" in text_of[9]


async def test_import_is_idempotent_and_counts(engine: AsyncEngine, tmp_path: Path) -> None:
    roster = SqlRoster(engine)
    path = tmp_path / "roster.csv"
    path.write_text(roster_csv(GOOD))
    seen: list[tuple[int, int]] = []
    first = await import_roster(path, roster, course(), now=T0, progress=lambda d, t: seen.append((d, t)))
    assert first.errors == [] and first.counts == RosterCounts(created=3)
    assert seen[-1] == (3, 3)

    again = await import_roster(path, roster, course(), now=at(5))
    assert again.counts == RosterCounts(unchanged=3)

    path.write_text(
        roster_csv([*GOOD[:2], ("carol", "carol", "", "g3", "lyrics-b"), ("dan", "", "", "", "")])
    )
    third = await import_roster(path, roster, course(), now=at(10))
    assert third.counts == RosterCounts(created=1, updated=1, unchanged=2)
    assert await roster.by_gitlab("CAROL") == Student(
        "carol", gitlab="carol", group_id="g3", team_id="lyrics-b"
    )
    assert await roster.by_cluster("alice01") == Student(
        "alice", "alice", "alice01", group_id="g1", team_id="lyrics-a"
    )
    assert [s.mattermost for s in await roster.all("g1")] == ["alice"]
    assert [s.mattermost for s in await roster.all()] == ["alice", "bob", "carol", "dan"]


async def test_invalid_file_writes_nothing(engine: AsyncEngine, tmp_path: Path) -> None:
    roster = SqlRoster(engine)
    path = tmp_path / "roster.csv"
    path.write_text(roster_csv([*GOOD, ("zed", "", "", "g7", "")]))
    result = await import_roster(path, roster, course(), now=T0)
    assert result.counts is None and [e.line for e in result.errors] == [5]
    assert await roster.all() == []


async def test_gitlab_name_held_by_someone_outside_the_file(engine: AsyncEngine, tmp_path: Path) -> None:
    roster = SqlRoster(engine)
    await roster.upsert(Student("olga", gitlab="shared"), now=T0)
    path = tmp_path / "roster.csv"
    path.write_text(roster_csv([("alice", "alice", "", "", ""), ("pete", "shared", "", "", "")]))
    result = await import_roster(path, roster, course(), now=T0)
    assert result.counts is None
    assert [(e.line, e.message) for e in result.errors] == [
        (3, "GitLab username 'shared' already belongs to @olga")
    ]
    assert await roster.by_mattermost("alice") is None


async def test_gitlab_names_can_swap_within_one_import(engine: AsyncEngine) -> None:
    roster = SqlRoster(engine)
    await roster.bulk_upsert([Student("alice", gitlab="x"), Student("bob", gitlab="y")], now=T0)
    counts = await roster.bulk_upsert([Student("alice", gitlab="y"), Student("bob", gitlab="x")], now=at(1))
    assert counts == RosterCounts(updated=2)
    assert (await roster.by_gitlab("x")) == Student("bob", gitlab="x")


def test_progress_bar_draws_only_when_asked() -> None:
    quiet, loud = io.StringIO(), io.StringIO()
    ProgressBar(quiet)(5, 10)
    bar = ProgressBar(loud, force=True, width=10)
    bar(5, 10)
    bar(10, 10)
    bar.close()
    assert quiet.getvalue() == ""
    assert loud.getvalue() == "\r[#####.....] 5/10\r[##########] 10/10\n"
