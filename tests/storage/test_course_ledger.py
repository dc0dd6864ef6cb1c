"""Two courses in one database (SQLite and PostgreSQL): the roster, the ledger, the audit
trail and the exclusion and warning transitions of course "main" and course "nlp" share
their tables, and each repository bound to one course sees and changes only its rows,
though the same person (Mattermost, GitLab and cluster username), team id and wiki page
exist in both."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.domain.gitlab import TagPush, WikiCreation
from idlbot.domain.ledger import Student
from idlbot.domain.roster import RosterConflict
from idlbot.storage.exclusion import SqlExclusions
from idlbot.storage.ledger import SqlQualification
from idlbot.storage.models_changes import LedgerVersionRow
from idlbot.storage.presenters import SqlPresenters
from idlbot.storage.roster import SqlRoster
from idlbot.storage.warnings import SqlWarnings
from tests.qualification.support import T0, at, course

MAIN, NLP = course(), dataclasses.replace(course(), id="nlp")


def _alice(group_id: str) -> Student:
    return Student("alice", gitlab="ag", cluster="alice01", group_id=group_id, team_id="lyrics-a")


async def _two_rosters(engine: AsyncEngine) -> tuple[SqlRoster, SqlRoster]:
    """alice in both courses (group g1 in main, g2 in nlp); bob, her team-mate, in main only."""
    main, nlp = SqlRoster(engine), SqlRoster(engine, course="nlp")
    bob = Student("bob", gitlab="bg", group_id="g1", team_id="lyrics-a")
    assert (await main.bulk_upsert([_alice("g1"), bob], now=T0)).created == 2
    assert (await nlp.bulk_upsert([_alice("g2")], now=T0)).created == 1  # same names: no clash
    return main, nlp


def _stores(engine: AsyncEngine) -> tuple[SqlQualification, SqlQualification]:
    return SqlQualification(engine, MAIN), SqlQualification(engine, NLP)


async def test_each_roster_sees_its_own_students(engine: AsyncEngine) -> None:
    main, nlp = await _two_rosters(engine)
    assert [s.mattermost for s in await main.all()] == ["alice", "bob"]
    assert await nlp.all() == [_alice("g2")]
    for lookup in ("by_mattermost", "by_gitlab", "by_cluster"):
        name = {"by_mattermost": "alice", "by_gitlab": "ag", "by_cluster": "alice01"}[lookup]
        assert await getattr(main, lookup)(name) == _alice("g1"), lookup
        assert await getattr(nlp, lookup)(name) == _alice("g2"), lookup
    assert await nlp.by_mattermost("bob") is None and await nlp.is_active("bob") is None
    assert await main.all("g2") == [] and await nlp.all("g2") == [_alice("g2")]

    assert await main.set_mattermost_id("alice", "a" * 26, now=at(1))
    assert (await nlp.by_mattermost("alice")) == _alice("g2")  # no id in nlp yet
    assert await nlp.edit("alice", {"active": False}, by="jens", now=at(2)) is not None
    assert await main.is_active("alice") is True and await nlp.is_active("alice") is False
    edited = await main.edit("alice", {"cluster": "alice99"}, by="stober", now=at(3))
    assert edited is not None and edited.cluster == "alice99"
    assert (await nlp.by_cluster("alice01")) is not None and await nlp.by_cluster("alice99") is None


async def _ledger_version(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(LedgerVersionRow.n))).scalar_one_or_none() or 0)


async def test_many_ids_are_stored_in_one_write_and_only_in_their_course(engine: AsyncEngine) -> None:
    """The batch behind a roster-wide fan-out: one transaction (one step of `ledger_version`,
    so the kept status texts go stale once, not once per student), names in any case, and
    a name not on the roster changes nothing."""
    main, nlp = await _two_rosters(engine)
    before = await _ledger_version(engine)
    await main.set_mattermost_ids({"alice": "a" * 26, "@Bob": "b" * 26, "nobody": "c" * 26}, now=at(1))
    assert await _ledger_version(engine) == before + 1
    stored = [(s.mattermost, s.mattermost_id) for s in await main.all()]
    assert stored == [("alice", "a" * 26), ("bob", "b" * 26)]
    assert await nlp.all() == [_alice("g2")]  # no id in nlp
    await main.set_mattermost_ids({}, now=at(2))
    assert await _ledger_version(engine) == before + 1  # nothing to store: no transaction


async def test_a_gitlab_name_clashes_only_inside_its_course(engine: AsyncEngine) -> None:
    main, nlp = await _two_rosters(engine)
    assert await nlp.upsert(Student("carol", gitlab="bg"), now=T0) == "created"  # bob's, in main only
    with pytest.raises(RosterConflict):
        await main.upsert(Student("carol", gitlab="bg"), now=T0)
    with pytest.raises(RosterConflict):
        await nlp.edit("alice", {"gitlab": "bg"}, by="stober", now=T0)
    # a swap in main leaves nlp's holders alone
    swapped = [dataclasses.replace(_alice("g1"), gitlab="bg"), Student("bob", gitlab="ag", group_id="g1",
                                                                       team_id="lyrics-a")]  # fmt: skip
    assert (await main.bulk_upsert(swapped, now=at(1))).updated == 2
    assert (await nlp.by_gitlab("ag")) == _alice("g2")
    carol = await nlp.by_gitlab("bg")
    assert carol is not None and carol.mattermost == "carol"


async def test_gitlab_facts_count_for_the_course_that_records_them(engine: AsyncEngine) -> None:
    await _two_rosters(engine)
    main, nlp = _stores(engine)
    push = TagPush(1, "idl2018/a/r1", "a01", at(0), "ag")
    assert await main.record_tag_push(push, ["ag", "bg"]) == 2
    assert await nlp.record_tag_push(dataclasses.replace(push, pushed_at=at(5)), ["ag"]) == 1
    assert await main.record_tag_push(dataclasses.replace(push, pushed_at=at(-5)), ["ag"]) == 1
    page = WikiCreation("blog/ag/w1", "w1", "ag", at(1))
    assert await main.record_wiki_creation(page, MAIN, "blog")
    same_slug = dataclasses.replace(page, created_at=at(2))
    assert await nlp.record_wiki_creation(same_slug, NLP, "blog")

    in_main, in_nlp = await main.ledger_for("alice"), await nlp.ledger_for("alice")
    assert in_main is not None and in_nlp is not None
    assert [(h.assignment_id, h.at) for h in in_main.hand_ins] == [("a01", at(-5))]
    assert [(h.assignment_id, h.at) for h in in_nlp.hand_ins] == [("a01", at(5))]
    assert [p.at for p in in_main.posts] == [at(1)] and [p.at for p in in_nlp.posts] == [at(2)]
    assert await nlp.ledger_for("bob") is None
    assert [len(x.hand_ins) for x in await main.all_ledgers()] == [1, 1]
    assert [(x.student.group_id, len(x.hand_ins)) for x in await nlp.all_ledgers()] == [("g2", 1)]


async def test_staff_records_and_the_trail_stay_in_their_course(engine: AsyncEngine) -> None:
    await _two_rosters(engine)
    main, nlp = _stores(engine)
    assert await main.override("alice", "a02", "excused", reason="sick", by="stober", now=at(0))
    assert await main.present("alice", "a01", "ok", note=None, by="tutor1", now=at(1))
    assert await main.set_group_paper(True, team_id="lyrics-a", by="stober", now=at(2))
    assert await nlp.set_group_paper(False, team_id="lyrics-a", by="jens", now=at(3))  # same team id
    assert await nlp.present("alice", "a01", "fail", note="no", by="tutor2", now=at(4))
    assert await nlp.present("bob", "a01", "ok", note=None, by="tutor2", now=at(4)) is None

    in_main, in_nlp = await main.ledger_for("alice"), await nlp.ledger_for("alice")
    assert in_main is not None and in_nlp is not None
    assert [h.status for h in in_main.hand_ins] == ["excused"] and in_nlp.hand_ins == ()
    assert [p.outcome for p in in_main.presentations] == ["ok"]
    assert [p.outcome for p in in_nlp.presentations] == ["fail"]
    assert (in_main.group_paper, in_nlp.group_paper) == (True, False)
    overview = {x.student.mattermost: x.group_paper for x in await main.all_ledgers()}
    assert overview == {"alice": True, "bob": True}
    assert [x.group_paper for x in await nlp.all_ledgers()] == [False]
    assert (in_main.team_waiting, in_nlp.team_waiting) == (2, 1)  # bob is main's only
    assert [x.team_waiting for x in await nlp.all_ledgers()] == [1]

    assert [e.action for e in await main.audit()] == ["group-paper", "present", "override"]
    trail = [(e.action, e.actor) for e in await nlp.audit()]
    assert trail == [("present", "tutor2"), ("group-paper", "jens")]
    assert [e.action for e in await nlp.audit(mattermost="alice")] == ["present"]


async def test_exclusions_are_announced_by_their_course(engine: AsyncEngine) -> None:
    await _two_rosters(engine)
    main, nlp = _stores(engine)
    exclusions = {"main": SqlExclusions(engine), "nlp": SqlExclusions(engine, course="nlp")}
    for n, aid in enumerate(a.id for a in MAIN.assignments[: MAIN.rules.fails_to_exclusion]):
        await main.present("alice", aid, "fail", note=None, by="tutor1", now=at(n))
    entry = await nlp.present("alice", "a01", "fail", note=None, by="tutor1", now=at(9))  # one: no change
    assert entry is not None
    [change] = await exclusions["main"].unannounced()
    assert change.excluded and await exclusions["nlp"].unannounced() == []
    assert await exclusions["nlp"].caused_by(change.record_id) is None
    assert await exclusions["main"].caused_by(change.record_id) == change
    assert await exclusions["nlp"].history(int(change.student_key)) == []
    await exclusions["main"].mark_announced([change], now=at(10))
    assert await exclusions["main"].unannounced() == []


async def test_warnings_are_recorded_and_told_per_course(engine: AsyncEngine) -> None:
    await _two_rosters(engine)
    main, nlp = SqlWarnings(engine), SqlWarnings(engine, course="nlp")
    told = await main.record("alice", "last-chance", forecast="F.", now=at(0))
    assert told is not None and told.group_id == "g1"
    assert await main.record("alice", "last-chance", forecast="F.", now=at(1)) is None
    assert await nlp.latest() == {}
    again = await nlp.record("alice", "last-chance", forecast="N.", now=at(2))  # her own first in nlp
    assert again is not None and (again.seq, again.group_id) == (1, "g2")
    assert await nlp.record("bob", "unreachable", forecast="B.", now=at(3)) is None  # not in nlp
    assert [c.forecast for c in await main.unannounced()] == ["F."]
    assert [c.forecast for c in await nlp.history("alice")] == ["N."]
    await main.mark_announced(await main.unannounced(), now=at(4))
    assert await main.unannounced() == [] and [c.forecast for c in await nlp.unannounced()] == ["N."]
    assert {k: v.state for k, v in (await main.latest()).items()} == {"alice": "last-chance"}


async def test_a_team_s_members_are_its_course_s(engine: AsyncEngine) -> None:
    await _two_rosters(engine)
    assert [m.mattermost for m in await SqlPresenters(engine).members("lyrics-a")] == ["alice", "bob"]
    assert [m.group_id for m in await SqlPresenters(engine, course="nlp").members("lyrics-a")] == ["g2"]
