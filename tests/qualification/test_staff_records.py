"""Staff records (override, present, group paper, roster edit), each with its audit row:
the SQL store behind the service that applies the course rules, as the commands get it."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.domain.errors import NotFound, UserError
from idlbot.domain.gitlab import TagPush
from idlbot.domain.ledger import HandIn, Presentation, Student
from idlbot.domain.roster import RosterConflict
from idlbot.ports.qualification import RosterEdit
from idlbot.services.qualification import QualificationService
from idlbot.storage.db import sessionmaker
from idlbot.storage.ledger import SqlQualification
from idlbot.storage.roster import SqlRoster
from tests.qualification.support import T0, at, course


async def _store(engine: AsyncEngine) -> SqlQualification:
    students = [
        Student("alice", gitlab="alice", group_id="g1", team_id="lyrics-a"),
        Student("bob", gitlab="bob", group_id="g1", team_id="lyrics-a"),
    ]
    await SqlRoster(engine).bulk_upsert(students, now=T0)
    return SqlQualification(sessionmaker(engine), course())


async def _q(engine: AsyncEngine) -> QualificationService:
    return QualificationService(await _store(engine), course())


async def test_override_wins_and_is_audited(engine: AsyncEngine) -> None:
    store = await _store(engine)
    q = QualificationService(store, course())
    await store.record_tag_push(TagPush(1, "idl2018/a/x", "a01", at(13 * 60), "alice"), ["alice"])  # late
    first = await q.override("@Alice", "A01", "excused", reason="sick note", by="stober", now=at(2000))
    assert (first.action, first.student, first.assignment_id) == ("override", "alice", "a01")
    assert first.before == "late (gitlab, 2018-10-16 23:00 UTC)"
    assert first.after == "excused (override by @stober)"
    second = await q.override("alice", "a01", "on-time", reason="GitLab was down", by="tutor1", now=at(2001))
    assert second.before == "excused (override by @stober)"

    found = await q.ledger_for("alice")
    assert found is not None
    assert found.hand_ins == (
        HandIn(
            "a01",
            "on-time",
            at(2001),  # when the override was recorded (its audit entry), not the push at(13 * 60)
            "override",
            by="tutor1",
            reason="GitLab was down",
            repo_path="idl2018/a/x",
        ),
    )
    # an override without any push
    missing = await q.override("bob", "a02", "missing", reason="nothing in repo", by="tutor1", now=at(2002))
    assert missing.before is None
    trail = await q.audit(mattermost="alice")
    assert found.hand_ins[0].at == trail[0].at
    assert [(e.before, e.after, e.reason, e.actor) for e in trail] == [
        ("excused (override by @stober)", "on-time (override by @tutor1)", "GitLab was down", "tutor1"),
        ("late (gitlab, 2018-10-16 23:00 UTC)", "excused (override by @stober)", "sick note", "stober"),
    ]
    assert [e.student for e in await q.audit(assignment_id="a02")] == ["bob"]
    assert len(await q.audit(limit=2)) == 2


async def test_unknown_student_or_assignment(engine: AsyncEngine) -> None:
    q = await _q(engine)
    with pytest.raises(NotFound, match="@\u200bzoe is not on the roster"):
        await q.override("zoe", "a01", "excused", reason="x", by="stober", now=T0)
    with pytest.raises(UserError, match="Unknown assignment “a99”"):
        await q.present("alice", "a99", "ok", note=None, by="tutor1", now=T0)
    assert await q.audit() == []


async def test_presentations_replace_and_audit(engine: AsyncEngine) -> None:
    q = await _q(engine)
    ok = await q.present("alice", "a01", "ok", note=None, by="tutor1", now=at(1))
    assert (ok.before, ok.after) == (None, "ok (by @tutor1)")
    fail = await q.present("alice", "a01", "fail", note="could not explain the loss", by="stober", now=at(2))
    assert (fail.before, fail.after, fail.reason) == (
        "ok (by @tutor1)",
        "fail (by @stober)",
        "could not explain the loss",
    )
    await q.present("alice", "a02", "fail", note=None, by="tutor1", now=at(3))
    found = await q.ledger_for("alice")
    assert found is not None
    assert found.presentations == (
        Presentation("a01", "fail", "stober", at(2), "could not explain the loss"),
        Presentation("a02", "fail", "tutor1", at(3)),
    )


async def test_group_paper_team_then_student(engine: AsyncEngine) -> None:
    q = await _q(engine)
    before = {lg.student.mattermost: lg.group_paper for lg in await q.all_ledgers()}
    assert before == {"alice": None, "bob": None}
    team = await q.set_group_paper(True, team_id="lyrics-a", by="stober", now=at(1))
    assert (team.team_id, team.before, team.after) == ("lyrics-a", None, "counts")
    own = await q.set_group_paper(False, mattermost="bob", reason="no contribution", by="stober", now=at(2))
    assert (own.student, own.before, own.after) == ("bob", None, "does not count")
    again = await q.set_group_paper(True, team_id="lyrics-a", by="stober", now=at(3))
    assert again.before == "counts"
    after = {lg.student.mattermost: lg.group_paper for lg in await q.all_ledgers()}
    assert after == {"alice": True, "bob": False}
    with pytest.raises(UserError):
        await q.set_group_paper(True, team_id="nope", by="stober", now=at(4))
    with pytest.raises(UserError):
        await q.set_group_paper(True, by="stober", now=at(4))


async def test_edit_one_roster_entry(engine: AsyncEngine) -> None:
    q = await _q(engine)
    edited = await q.edit_student(
        "alice", RosterEdit(cluster="Alice7", group_id="g2"), by="stober", now=at(1)
    )
    assert edited == Student("alice", gitlab="alice", cluster="alice7", group_id="g2", team_id="lyrics-a")
    assert await q.student("ALICE") == edited
    unchanged = await q.edit_student("alice", RosterEdit(group_id="g2"), by="stober", now=at(2))
    assert unchanged == edited
    with pytest.raises(UserError, match="already belongs to @bob"):
        await q.edit_student("alice", RosterEdit(gitlab="bob"), by="stober", now=at(3))
    with pytest.raises(UserError, match="unknown exercise group"):
        await q.edit_student("alice", RosterEdit(group_id="g9"), by="stober", now=at(3))
    await q.edit_student("bob", RosterEdit(active=False), by="stober", now=at(4))
    assert [lg.student.mattermost for lg in await q.all_ledgers()] == ["alice"]
    assert await q.ledger_for("bob") is not None  # still there, just not listed
    trail = await q.audit()
    assert [(e.student, e.action, e.before, e.after) for e in trail] == [
        ("bob", "roster-edit", "active=True", "active=False"),
        ("alice", "roster-edit", "cluster=-, group_id=g1", "cluster=alice7, group_id=g2"),
    ]


async def test_the_store_only_stores(engine: AsyncEngine) -> None:
    """Course rules are the service's: the store says "no such student" with None and
    "that GitLab name is taken" with RosterConflict, never with a chat message."""
    store = await _store(engine)
    assert await store.override("zoe", "a01", "excused", reason="x", by="stober", now=T0) is None
    assert await store.present("@Zoe", "a01", "ok", note=None, by="tutor1", now=T0) is None
    assert await store.set_group_paper(True, mattermost="zoe", by="stober", now=T0) is None
    assert await store.edit_student("zoe", {"cluster": "z1"}, by="stober", now=T0) is None
    with pytest.raises(RosterConflict) as conflict:
        await store.edit_student("alice", {"gitlab": "bob"}, by="stober", now=T0)
    assert conflict.value.clashes == {"alice": "GitLab username 'bob' already belongs to @bob"}
    assert await store.audit() == []
