"""`presented`, `presenters`: the team presenter rota in chat.

Staff (tutors and instructors; teams are not tied to exercise groups) record who
presented their team's progress report in which class; the bot's proposal is only a
suggestion, so the record is what counts for the "everybody presents once" rule. A
student sees their own team's record; staff see any team's, or all of them. The rota's
logic is domain/presenters.py; this module checks the input and phrases the refusals so
that they say what to do instead.
"""

from __future__ import annotations

from datetime import date

from idlbot.commands.access import split_args
from idlbot.commands.context import Context
from idlbot.commands.policy import require_role
from idlbot.commands.registry import CommandGroup, ForRole, UsageError
from idlbot.commands.reply import Reply
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import UserError
from idlbot.domain.presenters import latest_class, meeting_on, weeks
from idlbot.domain.presenters_render import day_text, name, recorded_text, team_text
from idlbot.domain.roles import Role
from idlbot.domain.schedule import class_meetings
from idlbot.domain.settings import Team
from idlbot.domain.usernames import normalize_username

group = CommandGroup("Course project")


def _team(ctx: Context, text: str) -> Team:
    team = ctx.course.team(text.strip().lower())
    if team is None:
        known = ", ".join(t.id for t in ctx.course.teams) or "none"
        raise UserError(f"There is no team “{defuse(text)}” (teams: {known}).")
    return team


def _class_day(ctx: Context, text: str | None) -> date:
    today = ctx.clock.now().astimezone(ctx.course.tz).date()
    if text is None:
        latest = latest_class(ctx.course, today)
        if latest is None:
            raise UserError("No class has taken place yet, so nobody can have presented.")
        return latest.day
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"Give the class date as YYYY-MM-DD, e.g. {today.isoformat()} (got “{defuse(text)}”)."
        ) from None
    if meeting_on(ctx.course, day) is None:
        past = [m.day for m in class_meetings(ctx.course) if m.day <= today][-3:]
        recent = ", ".join(d.isoformat() for d in past) or "none yet"
        raise UserError(f"There was no class on {day_text(day)}; the latest classes: {recent}.")
    if day > today:
        raise UserError(f"The class on {day_text(day)} has not taken place yet; record it on the day.")
    return day


async def _show(ctx: Context, team: Team) -> str:
    record = await ctx.ports.presenters.team(team.id)
    return team_text(team, record, weeks(ctx.course, record, ctx.clock.now()))


@group.command(
    "presented",
    summary="Record who presented their team's progress report in class (or list the team's record).",
    usage="presented <team> [@student [YYYY-MM-DD]]",
    examples={
        "presented lyrics-a @alice": (
            "Recorded: @\u200balice presented for Team A (sung lyrics) on Wed 17 Oct 2018."
        ),
        "presented lyrics-a": "#### Presenters: Team A (sung lyrics) (lyrics-a)",
    },
    role=Role.TUTOR,
    needs=("presenters", "qualification"),
)
async def presented(ctx: Context, args: str) -> Reply:
    words = split_args(args)
    if not words or len(words) > 3:
        raise UsageError()
    team = _team(ctx, words[0])
    if len(words) == 1:
        return Reply.private(await _show(ctx, team))
    username = normalize_username(words[1])
    student = await ctx.ports.qualification.student(username)
    if student is None or not student.active:
        raise UserError(
            f"{name(username)} is not an active student on the roster; add them first "
            "(`idlbot roster import`, or `/idl roster` with `active=yes`)."
        )
    if student.team_id != team.id:
        theirs = f"team {defuse(student.team_id)}" if student.team_id else "no team"
        raise UserError(
            f"{name(username)} is not on {team.id} (the roster has {theirs}). Record it for their "
            f"team, or first move them to it with `/idl roster` (`team={team.id}`)."
        )
    day = _class_day(ctx, words[2] if len(words) == 3 else None)
    done = await ctx.ports.presenters.record(
        team.id, username, day, by=ctx.user.username, now=ctx.clock.now()
    )
    if done is None:
        raise UserError(f"{name(username)} is not on the roster.")
    return Reply.private(recorded_text(team, done.record, done.created))


@group.command(
    "presenters",
    summary="Your team's presenters: who presented when, who has not yet, this week's proposal.",
    usage="presenters [all|<team>]",
    examples={
        "presenters": "#### Presenters: Team A (sung lyrics) (lyrics-a)",
        "presenters all": ForRole(Role.TUTOR, "#### Presenters: Team A (sung lyrics) (lyrics-a)"),
    },
    needs=("presenters", "qualification"),
)
async def presenters(ctx: Context, args: str) -> Reply:
    words = split_args(args)
    if len(words) > 1:
        raise UsageError()
    if words:
        require_role(ctx, Role.TUTOR, "see other teams' presenters")
        teams = list(ctx.course.teams) if words[0].lower() == "all" else [_team(ctx, words[0])]
        if not teams:
            raise UserError("The course has no teams ([[teams]] in the config).")
        return Reply.private("\n\n".join([await _show(ctx, t) for t in teams]))
    if ctx.user.role is not Role.STUDENT:
        raise UserError("Staff are on no team: `/idl presenters all`, or `/idl presenters <team>`.")
    student = await ctx.ports.qualification.student(ctx.user.username)
    if student is None:
        raise UserError("You are not in the course roster yet. Ask your tutor to add you.")
    team = ctx.course.team(student.team_id) if student.team_id else None
    if team is None:
        raise UserError("You are on no project team yet. Ask your tutor to set it in the roster.")
    return Reply.private(await _show(ctx, team))
