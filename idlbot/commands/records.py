"""`record`, `present`, `paper`, `roster`, `audit`: staff change the ledger by hand.

Every change goes through the Qualification port, which writes the audit row in the
same transaction (who, when, before → after, reason). A failed presentation is told to
the student privately at once (and a fail corrected to ok, too); recording the same
outcome again tells nobody. Exclusion and reinstatement are transitions, computed with
the record (domain/exclusion.py) and announced once each to the student and every
instructor through the `exclusions` port, whoever records and however often. The DMs go
through the outbox under keys derived from the audit entry or the transition, so a
retried command never sends them twice. The usage each command shows on a mistake is
the one in its declaration (`UsageError`)."""

from __future__ import annotations

from idlbot.commands.access import assignment_id, split_args, take_option
from idlbot.commands.context import Context
from idlbot.commands.policy import GroupScope, require, target_student
from idlbot.commands.registry import CommandGroup, ForRole, UsageError
from idlbot.commands.reply import Reply
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import UserError
from idlbot.domain.exclusion import ExclusionChange
from idlbot.domain.ledger import HandInStatus, Outcome, Student
from idlbot.domain.qualification import evaluate
from idlbot.domain.roles import Role
from idlbot.domain.roster import KEEP, Keep, RosterEdit
from idlbot.domain.usernames import normalize_username
from idlbot.ports.exclusion import Announced
from idlbot.ports.qualification import AuditEntry

group = CommandGroup("Exam qualification")

STATUSES: tuple[HandInStatus, ...] = ("on-time", "late", "missing", "excused")
OUTCOMES: tuple[Outcome, ...] = ("ok", "fail")


async def _dm(ctx: Context, username: str, key: str, text: str) -> bool:
    """A DM through the outbox; False when Mattermost has no such user."""
    user_id = await ctx.ports.people.user_id(username)
    if user_id is None:
        return False
    return await ctx.ports.outbox.enqueue(key=key, message=text, now=ctx.clock.now(), dm_user_id=user_id)


@group.command(
    "record",
    summary="Override one hand-in (on-time, late, missing or excused), with a reason.",
    usage='record <assignment> @student on-time|late|missing|excused --reason "…"',
    examples={
        'record a03 @alice excused --reason "medical certificate"': "a03 for @alice: nothing → excused"
    },
    role=Role.TUTOR,
    needs=("qualification",),
)
async def record(ctx: Context, args: str) -> Reply:
    words = split_args(args)
    reason = take_option(words, "reason")
    status = next((s for s in STATUSES if len(words) == 3 and s == words[2].lower()), None)
    if status is None:
        raise UsageError()
    if not reason:
        raise UserError('Say why: `--reason "…"` (it goes into the audit trail).')
    aid = assignment_id(ctx, words[0])
    student = await target_student(ctx, words[1])
    entry = await ctx.ports.qualification.override(
        student.mattermost,
        aid,
        status,
        reason=reason,
        by=ctx.user.username,
        now=ctx.clock.now(),
    )
    return Reply.private(f"{aid} for @{student.mattermost}: {_change(entry)}. Reason: {defuse(reason)}")


def _change(entry: AuditEntry) -> str:
    return f"{entry.before or 'nothing'} → {entry.after or 'nothing'}"


@group.command(
    "present",
    summary="Record whether a student could explain their solution (a fail costs the hand-in).",
    usage="present <assignment> @student ok|fail [--note …]",
    examples={
        'present a01 @alice fail --note "could not explain the backprop step"': (
            "a01 presentation of @alice: ok (by @tutor1) → fail (by @tutor1). The student was told by DM."
        )
    },
    role=Role.TUTOR,
    needs=("qualification", "outbox", "people", "exclusions"),
)
async def present(ctx: Context, args: str) -> Reply:
    words = split_args(args)
    note = take_option(words, "note")
    outcome = next((o for o in OUTCOMES if len(words) == 3 and o == words[2].lower()), None)
    if outcome is None:
        raise UsageError()
    aid = assignment_id(ctx, words[0])
    student = await target_student(ctx, words[1])
    now = ctx.clock.now()
    entry = await ctx.ports.qualification.present(
        student.mattermost, aid, outcome, note=note, by=ctx.user.username, now=now
    )
    text = f"{aid} presentation of @{student.mattermost}: {_change(entry)}."
    was = _outcome(entry.before)
    if was == outcome:  # the same outcome again (another tutor, a retry): told once already
        text += " The outcome did not change" + (", so nobody was told again." if outcome == "fail" else ".")
    elif outcome == "fail":
        text += await _tell_about_fail(ctx, student.mattermost, aid, entry)
    # exclusion (and reinstatement) are transitions of the student's standing, announced
    # once each however often and by whomever the record is made (domain/exclusion.py)
    announced = await ctx.ports.exclusions.announce(now)
    change = await ctx.ports.exclusions.caused_by(entry.id)
    if change is not None:  # this record made the transition (a racing one finds none)
        text += _announced(change, next((a for a in announced if a.change == change), None))
    elif outcome == "ok" and was == "fail":  # a reinstatement notice would have said it
        text += await _tell_withdrawn(ctx, student.mattermost, aid, entry)
    return Reply.private(text)


def _outcome(state: str | None) -> str | None:
    """The outcome in an audit state (`fail (by @tutor1)`, see domain/audit.py), or None."""
    return None if state is None else state.split(" ", 1)[0]


def _announced(change: ExclusionChange, done: Announced | None) -> str:
    """What the recorder reads about the transition their record made. `done` is None
    when a concurrent pass queued the notices first, or when Mattermost could not be
    asked just now (the next pass queues them): either way they go out, once."""
    what = "is now excluded from the exam" if change.excluded else "is no longer excluded from the exam"
    if done is None:
        return f" @{change.student} {what}: the student and the instructors are told by DM."
    told = " and ".join(
        t for t, ok in (("the student", done.student_told), ("the instructors", done.instructors_told)) if ok
    )
    return f" @{change.student} {what}: " + (f"{told} were told." if told else "I could not DM anyone.")


async def _tell_withdrawn(ctx: Context, username: str, aid: str, entry: AuditEntry) -> str:
    """A fail corrected to ok: the student was told of the fail, so of its withdrawal too."""
    ledger = await ctx.ports.qualification.ledger_for(username)
    fails = 0 if ledger is None else evaluate(ledger, ctx.course, now=ctx.clock.now()).fails
    limit = ctx.course.rules.fails_to_exclusion
    message = (
        f"Your presentation of {aid} is now recorded as ok (by @{ctx.user.username}), so that fail "
        f"is withdrawn: {fails} of {limit} fails now. `/idl status` shows where you stand."
    )
    sent = await _dm(ctx, username, f"ok:{entry.id}:student", message)
    return " The student was told by DM." if sent else " (I could not DM the student.)"


async def _tell_about_fail(ctx: Context, username: str, aid: str, entry: AuditEntry) -> str:
    """The fail itself, to the student (once per change to fail: the key is the record's)."""
    ledger = await ctx.ports.qualification.ledger_for(username)
    if ledger is None:
        return ""
    standing = evaluate(ledger, ctx.course, now=ctx.clock.now())
    limit = ctx.course.rules.fails_to_exclusion
    note = f" ({defuse(entry.reason)})" if entry.reason else ""
    count = (
        f"That is fail {standing.fails} of {limit}."
        if standing.fails <= limit
        else f"That makes {standing.fails} fails ({limit} exclude from the exam)."
    )
    message = f"Your presentation of {aid} was recorded as failed{note}, so {aid} no longer counts. {count}"
    if not standing.excluded:
        message += " `/idl status` shows where you stand."
    sent = await _dm(ctx, username, f"fail:{entry.id}:student", message)
    return " The student was told by DM." if sent else " (I could not DM the student.)"


@group.command(
    "paper",
    summary="Mark a team's group paper as handed in or not.",
    usage='paper <team> done|missing [--reason "…"]',
    examples={"paper lyrics-a done": "Group paper of lyrics-a: nothing → counts."},
    role=Role.INSTRUCTOR,
    needs=("qualification",),
)
async def paper(ctx: Context, args: str) -> Reply:
    words = split_args(args)
    reason = take_option(words, "reason")
    if len(words) != 2 or words[1].lower() not in ("done", "missing"):
        raise UsageError()
    team = words[0].lower()
    if ctx.course.team(team) is None:
        known = ", ".join(t.id for t in ctx.course.teams) or "none configured"
        raise UserError(f"There is no team “{defuse(team)}”. Teams: {known}.")
    entry = await ctx.ports.qualification.set_group_paper(
        words[1].lower() == "done", team_id=team, reason=reason, by=ctx.user.username, now=ctx.clock.now()
    )
    return Reply.private(f"Group paper of {team}: {_change(entry)}.")


ROSTER_FIELDS = {"gitlab": "gitlab", "cluster": "cluster", "group": "group_id", "team": "team_id"}


@group.command(
    "roster",
    summary="Show or change one student's roster entry (accounts, group, team).",
    usage="roster @student [gitlab=… cluster=… group=… team=… active=yes|no]",
    examples={
        "roster @alice": "@alice: GitLab alice-gl, cluster al123, group g1, team lyrics-a.",
        "roster @alice gitlab=alice-k": "@alice: GitLab alice-k, cluster al123, group g1, team lyrics-a.",
        "roster @bob group=g3": ForRole(
            Role.INSTRUCTOR, "@bob: GitLab bob-gl, cluster -, group g3, team lyrics-b."
        ),
    },
    role=Role.TUTOR,
    needs=("qualification",),
)
async def roster(ctx: Context, args: str) -> Reply:
    words = split_args(args)
    if not words:
        raise UsageError()
    if len(words) == 1:
        return Reply.private(_entry(await target_student(ctx, words[0])))
    typed: dict[str, str | None] = {}
    active: bool | Keep = KEEP
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or (key not in ROSTER_FIELDS and key != "active"):
            raise UsageError(f"“{defuse(word)}” is none of these.")
        if key == "active":
            active = value.lower() in ("yes", "true", "1")
        else:
            typed[ROSTER_FIELDS[key]] = value.lower() or None
    edit = RosterEdit(
        gitlab=typed.get("gitlab", KEEP),
        cluster=typed.get("cluster", KEEP),
        group_id=typed.get("group_id", KEEP),
        team_id=typed.get("team_id", KEEP),
        active=active,
    )
    student = await target_student(ctx, words[0])
    if edit.group_id is not KEEP:  # also out of every group (None): that leaves the tutor's reach too
        require(ctx, GroupScope(edit.group_id), "move students into")
    entry = await ctx.ports.qualification.edit_student(
        student.mattermost, edit, by=ctx.user.username, now=ctx.clock.now()
    )
    return Reply.private(_entry(entry))


def _entry(s: Student) -> str:
    return (
        f"@{s.mattermost}: GitLab {s.gitlab or '-'}, cluster {s.cluster or '-'}, "
        f"group {s.group_id or '-'}, team {s.team_id or '-'}."
    )


@group.command(
    "audit",
    summary="Who changed which record, when, and why.",
    usage="audit [@student] [assignment]",
    examples={
        "audit @alice": "When | Who | What | Change | Reason",
        "audit a01": "When | Who | What | Change | Reason",
    },
    role=Role.INSTRUCTOR,
    needs=("qualification",),
)
async def audit(ctx: Context, args: str) -> Reply:
    student = assignment = None
    for word in split_args(args):
        if word.startswith("@") and student is None:
            student = normalize_username(word)
        elif not word.startswith("@") and assignment is None:
            assignment = assignment_id(ctx, word)
        else:  # a second student or assignment would silently replace the first
            raise UsageError(f"One student and one assignment at most; “{defuse(word)}” is one too many.")
    entries = await ctx.ports.qualification.audit(mattermost=student, assignment_id=assignment, limit=30)
    if not entries:
        return Reply.private("No changes recorded.")
    lines = ["When | Who | What | Change | Reason", "--- | --- | --- | --- | ---"]
    for e in entries:
        what = " ".join(
            x for x in (e.action, f"@{e.student}" if e.student else e.team_id, e.assignment_id) if x
        )
        lines.append(
            f"{e.at.astimezone(ctx.user.tz):%d %b %H:%M %Z} | @{e.actor} | {what} | {_change(e)} | "
            f"{defuse(e.reason or '')}"
        )
    return Reply.private("\n".join(lines))
