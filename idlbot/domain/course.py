"""The course as data: assignments, exercise groups, lecture-free periods, rule numbers.

Everything here is plain, frozen and free of I/O so the schedule, qualification and
rendering code can be tested with literal values. `idlbot.config` builds the one
`Course` the bot serves; nothing in the domain reads files or the clock.

Instants (`Assignment.release`/`due`) are timezone-aware in the course zone. Weekly
things (`WeeklyDeadline`, `ExerciseGroup`) are stored as a weekday plus a wall-clock
time, never as an instant plus a period, because "Tuesday 12:00" must stay 12:00 local
across the daylight-saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from idlbot.domain.settings import Team

Weekday = int
"""0 = Monday … 6 = Sunday, as `date.weekday()` returns it."""

WEEKDAY_NAMES: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)


def parse_weekday(text: str) -> Weekday | None:
    """Parse "tue" or "Tuesday" (any case) → 1; anything else → None.

    Only the three-letter form and the full name are accepted: "tues" or "th" are
    guesses that config files should not rely on.
    """
    word = text.strip().lower()
    for number, name in enumerate(WEEKDAY_NAMES):
        if word in (name, name[:3]):
            return number
    return None


def weekday_name(day: Weekday) -> str:
    """1 → "Tuesday"; used in messages that explain a config mistake."""
    return WEEKDAY_NAMES[day].capitalize()


@dataclass(frozen=True)
class Assignment:
    """One weekly programming assignment. `release` and `due` are aware, course zone."""

    id: str
    title: str
    release: datetime
    due: datetime


@dataclass(frozen=True)
class ExerciseGroup:
    """A weekly exercise session run by tutors.

    `channel` is the Mattermost channel name the group talks in (config resolves a
    channel purpose to its name), or None when the group has no channel of its own.
    """

    id: str
    name: str
    weekday: Weekday
    start: time
    end: time
    room: str
    first_session: date
    tutors: tuple[str, ...]
    channel: str | None


@dataclass(frozen=True)
class WeeklyClass:
    """The weekly class (lecture) the whole course attends. The session-summary and
    presenter rotas are planned around it: a summary is written after one class and
    recapped at the start of the next, and teams present their progress in class."""

    weekday: Weekday
    start: time
    end: time
    room: str = ""


@dataclass(frozen=True)
class LectureFree:
    """A break (e.g. Christmas) during which no sessions and no question deadlines happen."""

    name: str
    start: date
    end: date  # inclusive

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class WeeklyDeadline:
    """The weekly question cut-off (Tuesday 12:00 in 2018): the class agenda is built
    from the questions on file at this wall-clock time in the course zone."""

    name: str
    weekday: Weekday
    at: time


@dataclass(frozen=True)
class Rules:
    """The exam-qualification numbers. Instructors set them per course, so they live in
    config and not in code (the course's "who may sit the exam" rules)."""

    on_time_quota: float = 0.8
    fails_to_exclusion: int = 2
    blog_posts: int = 1
    progress_reports: int = 1
    group_paper: bool = True
    presenting: bool = False  # every team member presents the progress once ([presenters] rule)
    presenting_from: date | None = None  # the first class with presentations ([presenters] start)


DEFAULT_COURSE_ID = "main"
"""The id of a one-course deployment's course, and of the records a single-course database
had before courses had ids (migration 0015 gives them this one unless told otherwise)."""


@dataclass(frozen=True)
class Course:
    """The course the bot serves. `start` and `end` are inclusive calendar dates.

    `id` is the course's key in every table that belongs to a course (the `course`
    column): short, stable, never shown as the course's name. A one-course file keeps
    `DEFAULT_COURSE_ID`, the id the migration gave the records of a single-course database."""

    name: str
    term: str
    tz: ZoneInfo
    start: date
    end: date
    questions: WeeklyDeadline
    questions_url: str
    assignments: tuple[Assignment, ...]
    groups: tuple[ExerciseGroup, ...]
    lecture_free: tuple[LectureFree, ...]
    rules: Rules
    teams: tuple[Team, ...] = ()
    classes: WeeklyClass | None = None
    id: str = DEFAULT_COURSE_ID

    def __hash__(self) -> int:
        """The hash the dataclass would give (of every field), worked out once: a course
        keys several memo caches that every command reads, and hashing its tuples of
        assignments, groups and periods anew cost 3.5 us each time. Frozen, so it holds."""
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, f.name) for f in fields(self)))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the cached hash: another process hashes strings differently."""
        state = dict(self.__dict__)
        state.pop("_hash", None)
        return state

    def is_lecture_free(self, day: date) -> LectureFree | None:
        """The lecture-free period containing `day`, so callers can say which one."""
        for period in self.lecture_free:
            if period.contains(day):
                return period
        return None

    def group(self, group_id: str) -> ExerciseGroup | None:
        """The exercise group with this id, or None (ids are unique; config checks)."""
        for candidate in self.groups:
            if candidate.id == group_id:
                return candidate
        return None

    def assignment(self, assignment_id: str) -> Assignment | None:
        """The assignment with this id, or None."""
        for candidate in self.assignments:
            if candidate.id == assignment_id:
                return candidate
        return None

    def team(self, team_id: str) -> Team | None:
        """The course-project team with this id, or None."""
        return next((t for t in self.teams if t.id == team_id), None)
