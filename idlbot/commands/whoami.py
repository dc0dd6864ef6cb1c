"""`whoami`: the role the bot sees for you, and your roster entry as staff see it.

Students check this first when a command is refused or a hand-in does not count, so it
shows what the bot actually uses: the role and where it comes from (the course config),
and the roster entry (exercise group, team, GitLab and cluster accounts, active or not),
the same entry `/idl roster @you` shows staff. Someone not on the roster is told so,
with what to do about it, instead of a generic "not known yet"."""

from __future__ import annotations

from idlbot.commands import policy
from idlbot.commands.context import Context
from idlbot.commands.registry import CommandGroup
from idlbot.commands.reply import Reply
from idlbot.domain.course import Course, weekday_name
from idlbot.domain.defuse import defuse
from idlbot.domain.ledger import Student
from idlbot.domain.roles import Role

group = CommandGroup("Course")

NOT_ON_ROSTER = (
    "Roster: you are not in the course roster, so I cannot count your hand-ins, show your "
    "exercise group or DM you about cluster jobs. Ask your tutor or an instructor to add you "
    "(with your GitLab and cluster usernames)."
)


@group.command(
    "whoami",
    summary="Your role, exercise group and linked accounts as I see them.",
    usage="whoami",
    examples={"whoami": "You are @alice, a student."},
)
async def whoami(ctx: Context, args: str) -> Reply:
    user = ctx.user
    lines = [f"You are @{user.username}, {user.role.with_article}."]
    tutored = policy.tutored(user, ctx.course)
    if tutored:
        names = ", ".join(f"{g.name} ({g.room})" for g in tutored)
        lines.append(f"Exercise groups you tutor: {names}.")
    # whoami is what one asks when something is off, so it answers on a bot without a
    # roster too (the `qualification` port is read only when wired, not `needs`-ed)
    if not ctx.ports.wired("qualification"):
        lines.append("Roster: not set up on this bot.")
    elif (student := await ctx.ports.qualification.student(user.username)) is not None:
        lines.extend(_roster_lines(student, ctx.course))
    elif user.role is Role.STUDENT:
        lines.append(NOT_ON_ROSTER)
    lines.append(f"Mattermost: @{user.username} (id `{user.id}`), time zone {user.tz_name}.")
    if user.role is Role.STUDENT:
        lines.append("Roles come from the course config; ask an instructor if yours is wrong.")
    return Reply.private("\n".join(lines))


def _roster_lines(student: Student, course: Course) -> list[str]:
    """The roster entry, each missing piece with what it costs the student."""
    found = course.group(student.group_id) if student.group_id else None
    if found is not None:
        when = f"{weekday_name(found.weekday)}s {found.start:%H:%M}\u2013{found.end:%H:%M}"
        tutors = ", ".join(defuse(f"@{t}") for t in found.tutors)  # named, not pinged
        by = f", tutor {tutors}" if len(found.tutors) == 1 else f", tutors {tutors}" if tutors else ""
        where = f"Exercise group: {found.name} ({found.id}), {when} in {defuse(found.room)}{by}."
    elif student.group_id:
        where = f"Exercise group: {defuse(student.group_id)} (not in the course config; tell an instructor)."
    else:
        where = "Exercise group: none on the roster; ask your tutor or an instructor to put you in yours."
    team = course.team(student.team_id) if student.team_id else None
    gitlab = defuse(student.gitlab) if student.gitlab else "not linked, so no hand-in of yours counts yet"
    cluster = defuse(student.cluster) if student.cluster else "not linked, so I cannot DM you about your jobs"
    lines = [
        where,
        f"Project team: {team.id}, {team.name}." if team is not None else "Project team: none on the roster.",
        f"GitLab: {gitlab}.",
        f"Cluster: {cluster}.",
    ]
    if student.active:
        lines.append("Roster entry: active.")
    else:
        lines.append(
            "Roster entry: inactive (taken out of the course), so you are in no overview; "
            "ask an instructor if that is wrong."
        )
    return lines
