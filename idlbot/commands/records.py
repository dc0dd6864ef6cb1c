"""`record`, `present`, `paper`, `roster`, `audit`: staff change the ledger by hand.

Every change goes through the Qualification port, which writes the audit row in the
same transaction (who, when, before → after, reason). A failed presentation is told to
the student privately at once; the fail that excludes them is told to the instructors
too. Those DMs go through the outbox under keys derived from the audit entry, so a
retried command never sends them twice."""

from __future__ import annotations

from typing import cast, get_args

from idlbot.commands.access import (
    assignment_id,
    ledger_port,
    may_see,
    split_args,
    take_option,
    target_student,
    tutor_groups,
)
from idlbot.commands.context import Context
from idlbot.commands.registry import CommandGroup
from idlbot.commands.reply import Reply
from idlbot.domain.errors import Forbidden, UserError
from idlbot.domain.ledger import HandInStatus, Outcome, Student
from idlbot.domain.qualification import evaluate
from idlbot.domain.roles import Role
from idlbot.domain.timefmt import defuse_mentions
from idlbot.domain.usernames import normalize_username
from idlbot.ports.qualification import KEEP, AuditEntry, Keep, RosterEdit

group = CommandGroup("Exam qualification")

STATUSES: tuple[str, ...] = get_args(HandInStatus)


async def _dm(ctx: Context, username: str, key: str, text: str) -> bool:
    if ctx.outbox is None or ctx.people is None:
        return False
    user_id = await ctx.people.user_id(username)
    if user_id is None:
        return False
    return await ctx.outbox.enqueue(key=key, message=text, now=ctx.clock.now(), dm_user_id=user_id)


@group.command(
    "record",
    summary="Override one hand-in (on-time, late, missing or excused), with a reason.",
    usage='record <assignment> @student on-time|late|missing|excused --reason "…"',
    examples={'record a03 @alice excused --reason "medical certificate"': ""},
    role=Role.TUTOR,
)
async def record(ctx: Context, args: str) -> Reply:
    words = split_args(args)
    reason = take_option(words, "reason")
    if len(words) != 3 or words[2].lower() not in STATUSES:
        raise UserError(f"Usage: `/idl {record_usage()}`.")
    if not reason:
        raise UserError('Say why: `--reason "…"` (it goes into the audit trail).')
    aid = assignment_id(ctx, words[0])
    student = await target_student(ctx, words[1])
    entry = await ledger_port(ctx).override(
        student.mattermost,
        aid,
        cast(HandInStatus, words[2].lower()),
        reason=reason,
        by=ctx.user.username,
        now=ctx.clock.now(),
    )
    return Reply.private(
        f"{aid} for @{student.mattermost}: {_change(entry)}. Reason: {defuse_mentions(reason)}"
    )


def record_usage() -> str:
    return 'record <assignment> @student on-time|late|missing|excused --reason "…"'


def _change(entry: AuditEntry) -> str:
    return f"{entry.before or 'nothing'} → {entry.after or 'nothing'}"


@group.command(
    "present",
    summary="Record whether a student could explain their solution (a fail costs the hand-in).",
    usage="present <assignment> @student ok|fail [--note …]",
    examples={'present a03 @alice fail --note "could not explain the backprop step"': ""},
    role=Role.TUTOR,
)
async def present(ctx: Context, args: str) -> Reply:
    words = split_args(args)
    note = take_option(words, "note")
    if len(words) != 3 or words[2].lower() not in get_args(Outcome):
        raise UserError("Usage: `/idl present <assignment> @student ok|fail [--note …]`.")
    aid = assignment_id(ctx, words[0])
    student = await target_student(ctx, words[1])
    outcome = cast(Outcome, words[2].lower())
    now = ctx.clock.now()
    port = ledger_port(ctx)
    entry = await port.present(student.mattermost, aid, outcome, note=note, by=ctx.user.username, now=now)
    text = f"{aid} presentation of @{student.mattermost}: {_change(entry)}."
    if outcome == "fail":
        text += await _tell_about_fail(ctx, student.mattermost, aid, entry)
    return Reply.private(text)


async def _tell_about_fail(ctx: Context, username: str, aid: str, entry: AuditEntry) -> str:
    ledger = await ledger_port(ctx).ledger_for(username)
    if ledger is None:
        return ""
    standing = evaluate(ledger, ctx.course, now=ctx.clock.now())
    limit = ctx.course.rules.fails_to_exclusion
    excluded = standing.excluded
    note = f" ({defuse_mentions(entry.reason)})" if entry.reason else ""
    message = (
        f"Your presentation of {aid} was recorded as failed{note}, so {aid} no longer counts. "
        f"That is fail {standing.fails} of {limit}."
    )
    if excluded:
        message += (
            f" With {limit} fails you can no longer sit the exam this term; please talk to the instructors."
        )
    else:
        message += " `/idl status` shows where you stand."
    sent = await _dm(ctx, username, f"fail:{entry.id}:student", message)
    told = " The student was told by DM." if sent else " (I could not DM the student.)"
    if excluded:
        for instructor in ctx.instructors:
            await _dm(
                ctx,
                instructor,
                f"fail:{entry.id}:{instructor}",
                f"@{username} now has {standing.fails} fails ({aid}, recorded by @{ctx.user.username}) "
                "and is excluded from the exam.",
            )
        told += " The instructors were told."
    return told


@group.command(
    "paper",
    summary="Mark a team's group paper as handed in or not.",
    usage='paper <team> done|missing [--reason "…"]',
    examples={"paper lyrics-a done": ""},
    role=Role.INSTRUCTOR,
)
async def paper(ctx: Context, args: str) -> Reply:
    words = split_args(args)
    reason = take_option(words, "reason")
    if len(words) != 2 or words[1].lower() not in ("done", "missing"):
        raise UserError('Usage: `/idl paper <team> done|missing [--reason "…"]`.')
    team = words[0].lower()
    if team not in {t.id for t in ctx.course.teams}:
        known = ", ".join(t.id for t in ctx.course.teams) or "none configured"
        raise UserError(f"There is no team `{team}`. Teams: {known}.")
    entry = await ledger_port(ctx).set_group_paper(
        words[1].lower() == "done", team_id=team, reason=reason, by=ctx.user.username, now=ctx.clock.now()
    )
    return Reply.private(f"Group paper of {team}: {_change(entry)}.")


ROSTER_FIELDS = {"gitlab": "gitlab", "cluster": "cluster", "group": "group_id", "team": "team_id"}


@group.command(
    "roster",
    summary="Show or change one student's roster entry (accounts, group, team).",
    usage="roster @student [gitlab=… cluster=… group=… team=… active=yes|no]",
    examples={"roster @alice": "", "roster @alice gitlab=alice-k group=g2": ""},
    role=Role.TUTOR,
)
async def roster(ctx: Context, args: str) -> Reply:
    words = split_args(args)
    if not words:
        raise UserError("Usage: `/idl roster @student [gitlab=… cluster=… group=… team=…]`.")
    if len(words) == 1:
        return Reply.private(_entry(await target_student(ctx, words[0])))
    changes: dict[str, str | Keep | bool | None] = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or (key not in ROSTER_FIELDS and key != "active"):
            raise UserError(f"`{word}`: use gitlab=…, cluster=…, group=…, team=… or active=yes|no.")
        if key == "active":
            changes["active"] = value.lower() in ("yes", "true", "1")
        else:
            changes[ROSTER_FIELDS[key]] = value.lower() or None
    username = normalize_username(words[0])
    port = ledger_port(ctx)
    existing = await port.student(username)
    if existing is not None and not may_see(ctx, existing):
        raise Forbidden(f"@{username} is not in an exercise group you tutor.")
    if ctx.user.role is Role.TUTOR and changes.get("group_id", KEEP) not in (KEEP, *tutor_groups(ctx)):
        raise Forbidden("You can only move students into exercise groups you tutor.")
    edit = RosterEdit(**changes)  # type: ignore[arg-type]
    return Reply.private(
        _entry(await port.edit_student(username, edit, by=ctx.user.username, now=ctx.clock.now()))
    )


def _entry(s: Student) -> str:
    return (
        f"@{s.mattermost}: GitLab {s.gitlab or '-'}, cluster {s.cluster or '-'}, "
        f"group {s.group_id or '-'}, team {s.team_id or '-'}."
    )


@group.command(
    "audit",
    summary="Who changed which record, when, and why.",
    usage="audit [@student] [assignment]",
    examples={"audit @alice": "", "audit a03": ""},
    role=Role.INSTRUCTOR,
)
async def audit(ctx: Context, args: str) -> Reply:
    student = assignment = None
    for word in split_args(args):
        if word.startswith("@"):
            student = normalize_username(word)
        else:
            assignment = assignment_id(ctx, word)
    entries = await ledger_port(ctx).audit(mattermost=student, assignment_id=assignment, limit=30)
    if not entries:
        return Reply.private("No changes recorded.")
    lines = ["When | Who | What | Change | Reason", "--- | --- | --- | --- | ---"]
    for e in entries:
        what = " ".join(
            x for x in (e.action, f"@{e.student}" if e.student else e.team_id, e.assignment_id) if x
        )
        lines.append(
            f"{e.at.astimezone(ctx.user.tz):%d %b %H:%M %Z} | @{e.actor} | {what} | {_change(e)} | "
            f"{defuse_mentions(e.reason or '')}"
        )
    return Reply.private("\n".join(lines))
