"""Who may do what to which target: the authorization of every command, in one place.

The registry lets a role run a command at all (`role=` on its declaration). This module
decides which targets that role reaches, by the target's scope:

| scope                                    | instructor | tutor                      | student    |
| ---------------------------------------- | ---------- | -------------------------- | ---------- |
| channel (course purpose, group channel)  | every one  | their groups' channels     | none       |
| exercise group                           | every one  | the groups they tutor      | none       |
| student                                  | everyone   | the students of their groups | themselves |
| a reminder or announcement someone made  | all        | their own                  | their own  |

"Their own" compares Mattermost user ids, never usernames: a username can be renamed and
a freed one taken by someone else, an account's id never changes. A reminder from the
course config, or one stored before creators were recorded, has no creator id and is
the instructors' alone. The groups a tutor tutors come from the course config, a
student's group from the roster, so a student moved to another group leaves the old
tutor's reach at once.

A check either returns or raises `Forbidden` whose text names what is allowed ("Tutors
can remind only in their exercise group's channel (~exercise-group-1); ~town-square is
not one of them."): the user learns where they may act, not only that they may not.
`refusal()` is the pure decision behind every check, and what the tests tabulate.
"""

from __future__ import annotations

from dataclasses import dataclass

from idlbot.commands.context import Context, User
from idlbot.commands.registry import role_refusal
from idlbot.domain.course import Course, ExerciseGroup
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import Forbidden, UserError
from idlbot.domain.ledger import Student, StudentLedger
from idlbot.domain.roles import Role
from idlbot.domain.usernames import normalize_username


@dataclass(frozen=True)
class ChannelScope:
    """A channel a command posts to; `name` is its Mattermost name, purposes resolved."""

    name: str


@dataclass(frozen=True)
class GroupScope:
    """An exercise group; None stands for "no group" (a student taken out of every group)."""

    group_id: str | None


@dataclass(frozen=True)
class StudentScope:
    """A student's records, as the roster has them (`group_id` None: in no group)."""

    username: str
    group_id: str | None

    @classmethod
    def of(cls, student: Student) -> StudentScope:
        return cls(student.mattermost, student.group_id)


@dataclass(frozen=True)
class CreatedScope:
    """Something a user created: `kind` and `ident` name it in the refusal ("reminder",
    "3"); `creator` is the creator's username (None: the course config made it) and
    `creator_id` their Mattermost id (None: not known, so instructors only)."""

    kind: str
    ident: str
    creator: str | None
    creator_id: str | None


Target = ChannelScope | GroupScope | StudentScope | CreatedScope

_OWN_RECORDS = "You can only see your own records."


def tutored(user: User, course: Course) -> list[ExerciseGroup]:
    """The exercise groups `user` tutors (by the course config), in config order."""
    me = normalize_username(user.username)
    return [g for g in course.groups if me in (normalize_username(t) for t in g.tutors)]


def tutored_ids(user: User, course: Course) -> list[str]:
    return [g.id for g in tutored(user, course)]


def group_channels(user: User, course: Course) -> list[str]:
    """The channel names of the groups `user` tutors: where a tutor may post."""
    return sorted({g.channel for g in tutored(user, course) if g.channel is not None})


def refusal(user: User, course: Course, target: Target, action: str) -> str | None:
    """None if `user` may `action` the target; else the refusal, naming what is allowed.
    `action` is a verb as it reads in "Tutors can <action> only …" ("remind", "cancel")."""
    if user.role is Role.INSTRUCTOR:
        return None
    who = f"{user.role.label.capitalize()}s"
    if isinstance(target, ChannelScope):
        return _channel(user, course, target, action, who)
    if isinstance(target, GroupScope):
        return _group(user, course, target, action, who)
    if isinstance(target, StudentScope):
        return _student(user, course, target)
    return _created(user, target, action, who)


def _channel(user: User, course: Course, target: ChannelScope, action: str, who: str) -> str | None:
    mine = group_channels(user, course) if user.role is Role.TUTOR else []
    if target.name in mine:
        return None
    if user.role is not Role.TUTOR:
        return f"{who} cannot {action} in course channels."
    if not mine:
        return f"{who} can {action} only in their exercise group's channel, and no group of yours has one."
    where = "exercise group's channel" if len(mine) == 1 else "exercise groups' channels"
    allowed = ", ".join(f"~{c}" for c in mine)
    typed = defuse(target.name)  # as the user typed it, shown back
    return f"{who} can {action} only in their {where} ({allowed}); ~{typed} is not one of them."


def _group(user: User, course: Course, target: GroupScope, action: str, who: str) -> str | None:
    mine = tutored_ids(user, course) if user.role is Role.TUTOR else []
    if target.group_id in mine:
        return None
    if not mine:
        return f"{who} cannot {action} any exercise group."
    text = f"{who} can {action} only exercise groups they tutor ({', '.join(mine)})"
    if target.group_id is None:
        return f"{text}."
    return f"{text}; {defuse(target.group_id)} is not one of them."


def _student(user: User, course: Course, target: StudentScope) -> str | None:
    if user.role is Role.STUDENT:
        return None if target.username == normalize_username(user.username) else _OWN_RECORDS
    mine = tutored_ids(user, course)
    if target.group_id is not None and target.group_id in mine:
        return None
    yours = ", ".join(mine) or "none"
    return f"@{target.username} is not in an exercise group you tutor (you tutor {yours})."


def _created(user: User, target: CreatedScope, action: str, who: str) -> str | None:
    if target.creator_id is not None and target.creator_id == user.id:
        return None
    head = f"{who} can {action} only their own {target.kind}s; {target.kind} {target.ident}"
    if target.creator is None:
        return f"{head} comes from the course config."
    if target.creator_id is None:
        return f"{head} was created by @{target.creator} before I recorded creators, so only instructors can."
    return f"{head} was created by @{target.creator}."


def allows(ctx: Context, target: Target, action: str = "") -> bool:
    return refusal(ctx.user, ctx.course, target, action) is None


def require(ctx: Context, target: Target, action: str) -> None:
    """Return if the asking user may `action` the target; raise Forbidden otherwise."""
    text = refusal(ctx.user, ctx.course, target, action)
    if text is not None:
        raise Forbidden(text)


def require_role(ctx: Context, needed: Role, what: str) -> None:
    """A subcommand above the command's own role (`remind add`, `agenda freeze`)."""
    if ctx.user.role < needed:
        raise Forbidden(role_refusal(what, needed, ctx.user.role))


def require_mass_mention(ctx: Context, notify: str) -> None:
    """@all reaches every member of the team; only instructors speak to all of them."""
    if notify == "all" and ctx.user.role is not Role.INSTRUCTOR:
        raise Forbidden("Only instructors can notify @all; use `--notify channel` in your group channel.")


def _may_ask(ctx: Context, username: str) -> None:
    """A student asking about anyone else is refused before the roster is read, so the
    refusal does not say whether that student exists (students cannot probe the roster)."""
    if ctx.user.role is Role.STUDENT and username != normalize_username(ctx.user.username):
        raise Forbidden(_OWN_RECORDS)


def _not_rostered(ctx: Context, username: str) -> UserError:
    if ctx.user.role is Role.STUDENT:
        return UserError("You are not in the course roster yet. Ask your tutor to add you.")
    return UserError(f"{defuse('@' + username)} is not in the roster (`idlbot roster import` adds students).")


async def target_student(ctx: Context, name: str) -> Student:
    """The roster entry for `@name`, if the asking user may see it (see `_may_ask`).
    The command must need "qualification"."""
    username = normalize_username(name)
    _may_ask(ctx, username)
    student = await ctx.ports.qualification.student(username)
    if student is None:
        raise _not_rostered(ctx, username)
    require(ctx, StudentScope.of(student), "see")
    return student


async def target_ledger(ctx: Context, name: str) -> StudentLedger:
    """As `target_student`, with the student's whole ledger: one read, roster entry
    included, which `/idl status` needs on every call. The ledger leaves this function
    only if the asking user may see it."""
    username = normalize_username(name)
    _may_ask(ctx, username)
    ledger = await ctx.ports.qualification.ledger_for(username)
    if ledger is None:
        raise _not_rostered(ctx, username)
    require(ctx, StudentScope.of(ledger.student), "see")
    return ledger
