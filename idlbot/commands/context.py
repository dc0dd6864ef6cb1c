"""What every command gets: who asks, where, the clock and the ports. Nothing else:
no driver, no session, no request, so a command cannot tell a slash command from a DM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from idlbot.clock import Clock
from idlbot.domain.course import Course
from idlbot.domain.roles import Role
from idlbot.ports.agenda import Agenda
from idlbot.ports.announce import Announcements, Maintenance
from idlbot.ports.chat import People
from idlbot.ports.health import Health
from idlbot.ports.jobs import Jobs
from idlbot.ports.outbox import Outbox
from idlbot.ports.qualification import Qualification
from idlbot.ports.reminders import Reminders

Via = Literal["slash", "dm", "mention"]


@dataclass(frozen=True)
class User:
    id: str
    username: str
    role: Role
    tz: ZoneInfo

    @property
    def tz_name(self) -> str:
        return self.tz.key


@dataclass(frozen=True)
class Context:
    user: User
    channel_id: str
    via: Via
    clock: Clock
    course: Course
    health: Health
    outbox: Outbox | None = None  # for commands that post (announcements, exports, nudges)
    people: People | None = None  # Mattermost user ids by username, for DMs
    instructors: tuple[str, ...] = ()  # told when a student is excluded
    qualification: Qualification | None = None  # the ledger (issue 3)
    reminders: Reminders | None = None  # reminder rules and firings (issue 4)
    agenda: Agenda | None = None  # the class agenda from upvoted questions (issue 5)
    announcements: Announcements | None = None  # announcements with preview (issue 6)
    maintenance: Maintenance | None = None  # cluster maintenance windows (issue 6)
    jobs: Jobs | None = None  # GPU job notifications (issue 6)
