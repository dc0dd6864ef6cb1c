"""The composition root's part for the course routines: which are on, built from what.

Kept apart from `app.py` because the routines are many small services with the same
wiring shape (config table → service → routine on the reminder planner), and they change
together. The summary rota is built before the GitLab sync (the sync tells it about wiki
pages); the others need the roster directory, built after it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from idlbot.config import Settings
from idlbot.domain.ledger import Student
from idlbot.ports.chat import People
from idlbot.ports.outbox import Outbox
from idlbot.ports.routine_inputs import Ledgers
from idlbot.ports.routines import Routine
from idlbot.services.blog_nudge import BlogNudge
from idlbot.services.early_warnings import EarlyWarnings, WarningCheck
from idlbot.services.presenters import PresenterRoutine
from idlbot.services.roster_directory import RosterDirectory
from idlbot.services.rota import RotaService
from idlbot.services.rota_routine import SummaryRota
from idlbot.services.warning_digest import WarningDigest
from idlbot.storage.presenters import SqlPresenters
from idlbot.storage.reminders import SqlReminderStore
from idlbot.storage.rota import SqlRotaStore

log = logging.getLogger(__name__)


def summary_rota(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    *,
    students: Callable[[], Awaitable[list[Student]]],
    people: People,
    channel_id: Callable[[str], Awaitable[str | None]],
    wake: Callable[[], None],
) -> tuple[RotaService | None, SummaryRota | None]:
    """The session-summary rota's service (for `/idl rota` and the wiki pages) and its
    routine, or (None, None) when `[summaries]` is off or there is no `[classes]`."""
    if not settings.summaries.enabled:
        return None, None
    if settings.course.classes is None:
        log.warning("[summaries] is enabled but [classes] is not set: the session-summary rota is off")
        return None, None
    roles = settings.roles
    service = RotaService(
        SqlRotaStore(sessions, course=settings.course.id),
        outbox,
        settings.course,
        settings.summaries,
        students=students,
        user_id=people.user_id,
        staff=(*roles.instructors, *roles.tutors),
        wake=wake,
    )
    routine = SummaryRota(
        service,
        outbox,
        channels=settings.mattermost.channels,
        channel_id=channel_id,
        instructors=roles.instructors,
    )
    return service, routine


def other_routines(
    settings: Settings,
    *,
    presenters: SqlPresenters,
    outbox: Outbox,
    directory: RosterDirectory,
    ledgers: Ledgers,
    mutes: SqlReminderStore,
    warnings: EarlyWarnings,
    people: People,
) -> list[Routine]:
    """The presenter rota, the blog nudge, the warnings check and the digest, if on."""
    cfg, found = settings, list[Routine]()
    if cfg.presenters.enabled and cfg.course.classes is not None:
        found.append(PresenterRoutine(presenters, outbox, directory.user_ids_of, cfg.course, cfg.presenters))
    if cfg.blog_nudge.enabled:
        nudge = BlogNudge(
            cfg.blog_nudge, cfg.course, ledgers=ledgers, students=directory, mutes=mutes, outbox=outbox
        )
        found.append(nudge)
    if cfg.warnings.warn_students:
        found.append(WarningCheck(warnings))
    if cfg.warnings.send_digest:
        roles = cfg.roles
        digest = WarningDigest(
            cfg.warnings,
            cfg.course,
            ledgers=ledgers,
            people=people,
            outbox=outbox,
            instructors=roles.instructors,
            tutors=roles.tutors,
        )
        found.append(digest)
    return found
