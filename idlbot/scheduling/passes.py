"""Service calls shaped as periodic passes (`Pass`: the time in, anything out), for the
ones whose signature or log line needs a word of adaptation. The list of passes and their
intervals is the app's (`Bot._schedule_passes`); their timing is `periodic.py`'s."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from idlbot.scheduling.periodic import Pass
from idlbot.services.jobs import JobNotifier
from idlbot.services.qualification_sync import QualificationSync
from idlbot.services.repo_hooks import RepoHooks

log = logging.getLogger(__name__)


def reconcile_gitlab(sync: QualificationSync, hooks: RepoHooks | None = None) -> Pass:
    """GitLab never retries a webhook: this re-read is what makes a lost one harmless.
    Then the hand-in hook goes on repositories created since (`RepoHooks.ensure_new`:
    bounded, and a failure is a warning line, never the pass's)."""

    async def reconcile(now: datetime) -> None:
        report = await sync.reconcile()
        log.info(
            "gitlab reconciliation: %d changes",
            report.changed,
            extra={"event": "reconcile", "outcome": "ok", "changed": report.changed},
        )
        if hooks is not None:
            await hooks.ensure_new(sync.repos, now)

    return reconcile


def job_poll(notifier: JobNotifier, spool_dir: str | None) -> Pass:
    """MailProg's spool (when the bot runs where it is written), then sacct."""
    spool = Path(spool_dir) if spool_dir else None

    async def poll(now: datetime) -> None:
        await notifier.poll(spool)

    return poll


def untimed(work: Callable[[], Awaitable[object]]) -> Pass:
    """A pass that does not need the time (it reads the clock itself, if at all)."""

    async def run(now: datetime) -> object:
        return await work()

    return run
