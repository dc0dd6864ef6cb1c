"""Every table of the application, for Alembic's env.py and the schema tests.

Each feature keeps its tables in its own module (one owner each); importing them here
registers them on the shared metadata, so autogenerate and compare_metadata see all."""

from __future__ import annotations

from idlbot.storage import (
    models,  # the foundation: outbox, handled posts, cursors, delivery keys, DM channels
    models_agenda,  # noqa: F401 - frozen agendas, done/skipped questions
    models_announce,  # noqa: F401 - announcements, maintenance windows
    models_changes,  # noqa: F401 - the ledger's version, which the read caches watch
    models_courses,  # noqa: F401 - the course a user in several courses means in a DM
    models_exclusion,  # noqa: F401 - exclusion transitions and whether they were announced
    models_jobs,  # noqa: F401 - job notices, MailProg events, notify settings, poll cursor
    models_leases,  # noqa: F401 - which replica runs each singleton pass
    models_presenters,  # noqa: F401 - presenter proposals and recorded team presentations
    models_qualification,  # noqa: F401 - roster, ledger, audit
    models_reminders,  # noqa: F401 - custom reminders, firings, mutes, calendar tokens
    models_rota,  # noqa: F401 - session-summary picks, excuses, swaps, pages
    models_warnings,  # noqa: F401 - early-warning transitions and whether they were told
)
from idlbot.storage.models import metadata

__all__ = ["metadata", "models"]
