"""Who may see or change whose records. One place, so every command asks the same way.

Students see only themselves. A tutor sees and records for the students of the
exercise groups they tutor; instructors for everyone. The check runs on the roster
entry, so a student who moves group moves out of the old tutor's view at once."""

from __future__ import annotations

import shlex

from idlbot.commands.context import Context
from idlbot.domain.errors import Forbidden, UserError
from idlbot.domain.ledger import Student
from idlbot.domain.roles import Role
from idlbot.domain.usernames import normalize_username


def tutor_groups(ctx: Context) -> set[str]:
    me = normalize_username(ctx.user.username)
    return {g.id for g in ctx.course.groups if me in (normalize_username(t) for t in g.tutors)}


def may_see(ctx: Context, student: Student) -> bool:
    if ctx.user.role is Role.INSTRUCTOR:
        return True
    if ctx.user.role is Role.TUTOR:
        return student.group_id is not None and student.group_id in tutor_groups(ctx)
    return student.mattermost == normalize_username(ctx.user.username)


async def target_student(ctx: Context, name: str) -> Student:
    """The roster entry for `@name`, if the asking user may see it. The refusal does not
    say whether the student exists, so students cannot probe the roster. The command
    must need "qualification"."""
    username = normalize_username(name)
    if ctx.user.role is Role.STUDENT and username != normalize_username(ctx.user.username):
        raise Forbidden("You can only see your own records.")
    student = await ctx.ports.qualification.student(username)
    if student is None:
        if ctx.user.role is Role.STUDENT:
            raise UserError("You are not in the course roster yet. Ask your tutor to add you.")
        raise UserError(f"@{username} is not in the roster (`idlbot roster import` adds students).")
    if not may_see(ctx, student):
        raise Forbidden(f"@{username} is not in an exercise group you tutor.")
    return student


def split_args(args: str) -> list[str]:
    try:
        return shlex.split(args)
    except ValueError as err:
        raise UserError(f"Could not read the arguments ({err}); close your quotes.") from None


def take_option(words: list[str], name: str) -> str | None:
    """Remove `--name value` (or `--name=value`) from `words`; return the value."""
    for i, word in enumerate(words):
        if word == f"--{name}":
            if i + 1 >= len(words):
                raise UserError(f'`--{name}` needs a value, e.g. `--{name} "…"`.')
            value = words[i + 1]
            del words[i : i + 2]
            return value
        if word.startswith(f"--{name}="):
            del words[i]
            return word.split("=", 1)[1]
    return None


def assignment_id(ctx: Context, text: str) -> str:
    aid = text.lower()
    if ctx.course.assignment(aid) is None:
        known = ", ".join(a.id for a in ctx.course.assignments)
        raise UserError(f"There is no assignment `{text}`. Assignments: {known}.")
    return aid
