"""GitLab facts in the ledger: tag pushes for a whole repo, blog posts, team reports."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.domain.gitlab import TagPush, WikiCreation
from idlbot.domain.ledger import HandIn, Student, WikiPost
from idlbot.storage.ledger import SqlLedger
from idlbot.storage.roster import SqlRoster
from tests.qualification.support import T0, at, course

TRIO = [
    Student("alice", gitlab="alice", team_id="lyrics-a"),
    Student("bob", gitlab="bob", team_id="lyrics-a"),
    Student("carol", gitlab="carol", team_id="lyrics-b"),
    Student("dave", gitlab="dave"),
]


async def _setup(engine: AsyncEngine) -> SqlLedger:
    await SqlRoster(engine).bulk_upsert(TRIO, now=T0)
    return SqlLedger(engine, course())


def _push(tag: str, minutes: float, pusher: str = "bob", *, deleted: bool = False) -> TagPush:
    return TagPush(7, "idl2018/a/team-7", tag, at(minutes), pusher, deleted)


async def test_one_members_tag_counts_for_all_three(engine: AsyncEngine) -> None:
    ledger = await _setup(engine)
    assert await ledger.record_tag_push(_push("a01", 0), ["Alice", "bob", "carol"]) == 3
    for name in ("alice", "bob", "carol"):
        found = await ledger.ledger_for(name)
        assert found is not None
        assert found.hand_ins == (
            HandIn("a01", "on-time", at(0), "gitlab", by="bob", repo_path="idl2018/a/team-7"),
        )
    dave = await ledger.ledger_for("dave")
    assert dave is not None and dave.hand_ins == ()


async def test_earliest_receive_time_is_kept(engine: AsyncEngine) -> None:
    ledger = await _setup(engine)
    members = ["alice", "bob"]
    assert await ledger.record_tag_push(_push("a01", 60), members) == 2
    # re-pushed after the deadline (a01 is due 2018-10-16 21:59 UTC): still on time
    assert await ledger.record_tag_push(_push("a01", 24 * 60, "alice"), members) == 0
    # a deletion takes nothing back
    assert await ledger.record_tag_push(_push("a01", 25 * 60, deleted=True), members) == 0
    # an earlier push found later (reconciliation after a lost hook) moves the time back
    assert await ledger.record_tag_push(_push("a01", 30, "alice"), members) == 2
    found = await ledger.ledger_for("bob")
    assert found is not None and [(h.at, h.by, h.status) for h in found.hand_ins] == [
        (at(30), "alice", "on-time")
    ]


async def test_late_is_decided_at_read_time_from_due(engine: AsyncEngine) -> None:
    ledger = await _setup(engine)
    await ledger.record_tag_push(_push("a01", 13 * 60), ["alice"])  # 23:00 UTC, after 21:59 UTC
    found = await ledger.ledger_for("alice")
    assert found is not None and found.hand_ins[0].status == "late"


async def test_members_not_on_roster_are_skipped(engine: AsyncEngine) -> None:
    ledger = await _setup(engine)
    assert await ledger.record_tag_push(_push("a01", 0), ["stranger", "dave"]) == 1


async def test_blog_posts_and_team_reports(engine: AsyncEngine) -> None:
    ledger = await _setup(engine)
    c = course()

    def page(slug: str, author: str, minutes: float) -> WikiCreation:
        return WikiCreation(slug, slug.rsplit("/", 1)[-1], author, at(minutes))

    assert await ledger.record_wiki_creation(page("blog/alice/week-1", "alice", 1), c, "blog")
    assert not await ledger.record_wiki_creation(page("blog/alice/week-1", "alice", 1), c, "blog")  # again
    assert not await ledger.record_wiki_creation(page("blog/alice/week-2", "bob", 2), c, "blog")  # not hers
    assert not await ledger.record_wiki_creation(page("blog/zoe/week-1", "zoe", 2), c, "blog")  # not rostered
    # a report created by a non-member of the team is ignored ...
    assert not await ledger.record_wiki_creation(page("teams/lyrics-a/sprint-1", "carol", 3), c, "blog")
    # ... by a member it counts for that member only
    assert await ledger.record_wiki_creation(page("teams/lyrics-a/sprint-1", "bob", 4), c, "blog")
    assert not await ledger.record_wiki_creation(page("teams/lyrics-a/sprint-1", "alice", 5), c, "blog")
    assert not await ledger.record_wiki_creation(page("random/page", "alice", 6), c, "blog")

    ledgers = {lg.student.mattermost: lg for lg in await ledger.all_ledgers()}
    assert ledgers["alice"].posts == (WikiPost("blog", "blog/alice/week-1", at(1)),)
    assert ledgers["bob"].posts == (WikiPost("report", "teams/lyrics-a/sprint-1", at(4), "lyrics-a"),)
    assert ledgers["carol"].posts == ()
