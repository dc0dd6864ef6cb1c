"""What every command gets: who asks, where, the clock, the course and the ports. Nothing
else: no driver, no session, no request, so a command cannot tell a slash command from a DM.

`Ports` is the one object that carries every port a command may use. The app builds it
once (None where a feature is not configured, e.g. no GitLab); a command declares what it
uses (`needs=("agenda",)` on its decorator) and the registry runs it only when all of
that is wired. So a command reads `ctx.ports.agenda` and gets an `Agenda`, typed without
`None`, with no check of its own. Adding a port takes its Protocol, one line in `Ports`
and the app's construction of `Ports`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, overload
from zoneinfo import ZoneInfo

from idlbot.clock import Clock
from idlbot.domain.course import Course
from idlbot.domain.roles import Role
from idlbot.ports.agenda import Agenda
from idlbot.ports.announce import Announcements, Maintenance
from idlbot.ports.chart import OverviewChart
from idlbot.ports.chat import People
from idlbot.ports.course_choice import CourseChoices
from idlbot.ports.exclusion import ExclusionNotices
from idlbot.ports.health import Health
from idlbot.ports.jobs import Jobs
from idlbot.ports.outbox import Outbox
from idlbot.ports.presenters import Presenters
from idlbot.ports.qualification import Qualification
from idlbot.ports.reminders import Reminders
from idlbot.ports.rota import Rota

Via = Literal["slash", "dm", "mention"]
T = TypeVar("T")


class PortNotWired(RuntimeError):
    """A command read a port that is not wired. The registry only runs a command whose
    `needs` are wired, so this means the command uses a port it did not declare: a bug,
    reported like any other crash (a reference in chat, the traceback in the log)."""


class Port(Generic[T]):
    """One slot of `Ports`: set once when the ports are built (None: not configured), read
    as the port itself. `needs` is what a bot's operator must set up for it, as the
    refusal says it ("it needs GitLab")."""

    def __init__(self, needs: str) -> None:
        self.needs = needs
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, ports: None, owner: type | None = None) -> None: ...
    @overload
    def __get__(self, ports: object, owner: type | None = None) -> T: ...
    def __get__(self, ports: object | None, owner: type | None = None) -> T | None:
        if ports is None:  # read on the class: the dataclass takes it as the default (unwired)
            return None
        value: T | None = ports.__dict__.get(self.name)
        if value is None:
            raise PortNotWired(f"ports.{self.name} is not wired; declare needs=({self.name!r},)")
        return value

    def __set__(self, ports: object, value: T | None) -> None:
        ports.__dict__[self.name] = value  # only the generated __init__ gets here: Ports is frozen


@dataclass(frozen=True, eq=False, repr=False)
class Ports:
    """Every port a command may use. Built once by the app; None where not configured."""

    health: Port[Health] = Port("the health monitor")
    outbox: Port[Outbox] = Port("the outbox")  # posts and DMs: announcements, exports, nudges
    people: Port[People] = Port("Mattermost")  # Mattermost user ids by username, for DMs
    qualification: Port[Qualification] = Port("the qualification ledger")
    reminders: Port[Reminders] = Port("the reminder scheduler")  # also the calendar feeds
    agenda: Port[Agenda] = Port("GitLab")  # the class agenda from upvoted questions
    announcements: Port[Announcements] = Port("the announcement service")
    maintenance: Port[Maintenance] = Port("Slurm")  # cluster maintenance windows
    jobs: Port[Jobs] = Port("Slurm")  # GPU job notifications
    chart: Port[OverviewChart] = Port("the chart renderer")  # the overview's PNG
    exclusions: Port[ExclusionNotices] = Port("the outbox")  # exclusion notices, once per transition
    presenters: Port[Presenters] = Port("the presenter rota")  # who presented their team's progress
    rota: Port[Rota] = Port("the session-summary rota ([summaries] and [classes])")
    courses: Port[CourseChoices] = Port("a deployment of several courses")  # `/idl use`

    @classmethod
    def slot(cls, name: str) -> Port[Any] | None:
        """The slot called `name`, or None if `Ports` has no such port."""
        found = vars(cls).get(name)
        return found if isinstance(found, Port) else None

    def wired(self, name: str) -> bool:
        return self.__dict__.get(name) is not None

    def __repr__(self) -> str:
        names = [n for n, v in vars(type(self)).items() if isinstance(v, Port) and self.wired(n)]
        return f"Ports({', '.join(names)})"


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
    ports: Ports = field(default_factory=Ports)
    instructors: tuple[str, ...] = ()  # the course's instructors (exclusion notices: ports.exclusions)
