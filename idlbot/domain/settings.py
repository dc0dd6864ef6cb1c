"""Feature settings as plain frozen values (built by idlbot.config, read by the features).

They live in the domain layer because the pure logic reads them: the reminder planner
needs the offsets and grace periods, the agenda needs its cutoff, the qualification
rules need the wiki prefixes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Literal

RuleKind = Literal["questions", "assignments", "exercise", "nudges"]
RULE_KINDS: tuple[RuleKind, ...] = ("questions", "assignments", "exercise", "nudges")
RuleTarget = Literal["channel", "members"]


@dataclass(frozen=True)
class Team:
    """A course-project team; its members come from the roster."""

    id: str
    name: str
    wiki_prefix: str  # pages under this prefix, created by a member, are progress reports


@dataclass(frozen=True)
class ReminderRule:
    """One kind of reminder. `offsets` count back from the deadline (or session start);
    `at` instead fires at a wall-clock time on the day (exercise mornings). A reminder
    missed while the bot was down is sent late only within `grace`, and never after the
    thing it reminds of has passed."""

    kind: RuleKind
    offsets: tuple[timedelta, ...] = ()
    at: time | None = None
    channel: str | None = None  # a channel purpose from [mattermost.channels]
    to: RuleTarget = "channel"  # "members": DM each member (exercise sessions)
    grace: timedelta = timedelta(hours=1)
    enabled: bool = True


@dataclass(frozen=True)
class ReminderSettings:
    questions: ReminderRule | None = None
    assignments: ReminderRule | None = None
    exercise: ReminderRule | None = None
    nudges: ReminderRule | None = None

    def rules(self) -> tuple[ReminderRule, ...]:
        found = (self.questions, self.assignments, self.exercise, self.nudges)
        return tuple(r for r in found if r is not None and r.enabled)


@dataclass(frozen=True)
class AgendaSettings:
    label: str | None = "question"  # None: every open issue is a question
    cutoff_weekday: int = 1  # Tuesday
    cutoff_time: time = time(12, 0)
    top: int = 10
    channel: str = "questions"  # a channel purpose
    close_on_done: bool = False
    reconcile_minutes: float = 5.0


@dataclass(frozen=True)
class PresenterSettings:
    """The team presenter rota ([presenters]). `rule`: "presented at least once" is an
    exam rule in `/idl status` (it lives on `Rules.presenting`, where the rules read it)."""

    enabled: bool = False
    propose_before: timedelta = timedelta(days=2)
    rule: bool = False
    start: date | None = None
    """The first class with progress presentations (teams form in the first weeks, so
    nobody should be proposed before they exist); None: from the first class."""
