"""The ledger's GitLab side: hand-ins from tag pushes, posts and reports from wiki pages.

Called by the webhook handler and by the periodic reconciliation with the same events,
so both writes are idempotent and order-independent: the earliest receive time wins,
whichever path saw it first. `SqlLedger` (``ledger.py``) exposes them as the port's
methods; the staff side and the reads stay there.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from idlbot.domain.course import Course
from idlbot.domain.gitlab import TagPush, WikiCreation
from idlbot.domain.ledger import classify_wiki_page
from idlbot.domain.usernames import normalize_username
from idlbot.storage._dialect import Database, insert_for, transaction
from idlbot.storage.models_qualification import HandInRow, StudentRow, WikiPostRow


async def record_tag_push(
    db: Database, cid: str, push: TagPush, members: Sequence[str], *, assignment_id: str | None = None
) -> int:
    """Record a hand-in for every rostered member of the pushed-to repository.

    Returns how many students' hand-ins were created or moved earlier. The first
    receive time of the tag is kept: re-pushing a tag later (even after deleting
    it) never makes an on-time hand-in late, and a push seen late (reconciliation
    after a lost hook) still moves the time back to when GitLab got it. A deletion
    hands nothing in and takes nothing back.
    """
    if push.deleted:
        return 0
    aid = assignment_id or push.tag
    names = {normalize_username(m) for m in members}
    changed = 0
    async with transaction(db) as conn:
        ids = (
            await conn.execute(
                select(StudentRow.id).where(StudentRow.course == cid, StudentRow.gitlab.in_(names))
            )
        ).scalars()
        for student_id in ids.all():
            ins = insert_for(conn, HandInRow.__table__).values(
                course=cid,
                student_id=student_id,
                assignment_id=aid,
                repo_path=push.repo_path,
                pushed_at=push.pushed_at,
                pusher=normalize_username(push.pusher),
            )
            stmt = ins.on_conflict_do_update(
                index_elements=["student_id", "assignment_id"],
                set_={c: ins.excluded[c] for c in ("repo_path", "pushed_at", "pusher")},
                where=HandInRow.pushed_at > ins.excluded.pushed_at,
            ).returning(HandInRow.id)
            changed += (await conn.execute(stmt)).first() is not None
    return changed


async def record_wiki_creation(
    db: Database, cid: str, creation: WikiCreation, course: Course, blog_prefix: str
) -> bool:
    """Record a page that counts (see ``classify_wiki_page``); True if anything changed.

    A team report counts for the member who created it, and only if the author is
    on that team in the roster. One row per page: if a page is deleted and created
    again, the earliest creation (and its author) is kept, as for tags.
    """
    kind = classify_wiki_page(creation.slug, creation.author, course, blog_prefix)
    if kind is None:
        return False
    what, team_id = kind
    author = normalize_username(creation.author)
    cond = [StudentRow.course == cid, StudentRow.gitlab == author]
    if team_id is not None:
        cond.append(StudentRow.team_id == team_id)
    async with transaction(db) as conn:
        student_id = (await conn.execute(select(StudentRow.id).where(*cond))).scalar()
        if student_id is None:
            return False
        ins = insert_for(conn, WikiPostRow.__table__).values(
            course=cid,
            kind=what,
            slug=creation.slug.strip("/"),
            student_id=student_id,
            team_id=team_id,
            author=author,
            created_at=creation.created_at,
        )
        stmt = ins.on_conflict_do_update(
            index_elements=["course", "kind", "slug"],
            set_={c: ins.excluded[c] for c in ("student_id", "team_id", "author", "created_at")},
            where=WikiPostRow.created_at > ins.excluded.created_at,
        ).returning(WikiPostRow.id)
        return (await conn.execute(stmt)).first() is not None
