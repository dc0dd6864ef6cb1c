"""Commands, one small function each; the groups are listed here explicitly."""

from __future__ import annotations

from idlbot.commands import (
    agenda,
    announce,
    calendar,
    deadlines,
    health,
    jobs,
    maintenance,
    presenters,
    records,
    remind,
    rota,
    status,
    use,
    whoami,
)
from idlbot.commands.help import help_group
from idlbot.commands.registry import Observer, Registry


def build_registry(*, observer: Observer | None = None) -> Registry:
    holder: list[Registry] = []
    registry = Registry(
        [
            help_group(lambda: holder[0]),
            deadlines.group,
            whoami.group,
            use.group,
            status.group,
            records.group,
            presenters.group,
            agenda.group,
            remind.group,
            rota.group,
            calendar.group,
            jobs.group,
            announce.group,
            maintenance.group,
            health.group,
        ],
        observer=observer,
    )
    holder.append(registry)
    return registry
