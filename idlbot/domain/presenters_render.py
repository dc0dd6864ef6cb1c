"""The presenter rota's texts: the proposal DM, `/idl presenters`, `/idl presented`.

Usernames and wiki slugs are not ours, so each goes through `defuse`: a name is shown
as `@​alice` (no mention, nobody pinged by a list). Team names and ids come from the
instructors' config. Pure: the output depends only on the arguments, so tests compare
it literally.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from idlbot.domain.defuse import defuse
from idlbot.domain.presenters import Presented, TeamRecord, Week
from idlbot.domain.settings import Team


def name(username: str) -> str:
    return defuse("@" + username)


def names(usernames: Sequence[str]) -> str:
    return ", ".join(name(u) for u in usernames) if usernames else "nobody"


def day_text(day: date) -> str:
    """`Wed 17 Oct 2018`."""
    return f"{day:%a} {day.day:02d} {day:%b %Y}"


def proposal_text(team: Team, day: date, presenter: str, not_yet: Sequence[str]) -> str:
    """The DM every member of the team gets before the class of `day`. One line, so it
    reads the same in a notification preview as in the chat."""
    if not_yet:
        pending = f"Not presented yet: {names(not_yet)} (everybody presents at least once)."
    else:
        pending = "Everybody has presented at least once; the rotation goes on."
    return (
        f"**Progress report, class on {day_text(day)}, {team.name}:** "
        f"proposed to present is {name(presenter)}. {pending} Another member may present "
        "instead; the tutor records who did (`/idl presenters` shows your team's record)."
    )


def team_text(team: Team, record: TeamRecord, weeks: Sequence[Week]) -> str:
    """A team's record: one line per class, who has not presented yet."""
    lines = [f"#### Presenters: {team.name} ({team.id})"]
    if not record.members:
        lines.append("No active members on the roster.")
    else:
        lines.append(f"Members: {names(record.members)}.")
        lines.append(f"Not presented yet: {names(record.not_presented())}.")
    if not weeks:
        lines.append("No classes in this term.")
    lines.append("")
    for week in weeks:
        lines.append(f"- {week_line(week)}")
    return "\n".join(lines).rstrip()


def week_line(week: Week) -> str:
    parts = [day_text(week.meeting.day) + ":"]
    if week.presented:
        parts.append(f"presented by {names(week.presented)}")
    elif week.proposed is not None:
        parts.append(f"proposed {name(week.proposed)}, nobody recorded")
    else:
        parts.append("nobody recorded")
    if week.presented and week.proposed is not None and week.proposed not in week.presented:
        parts[-1] += f" (proposed {name(week.proposed)})"
    if week.reports:
        reports = ", ".join(defuse(slug) for slug in week.reports)
        parts.append(f"; report: {reports}")
    else:
        parts.append("; no report page")
    return " ".join(parts[:2]) + "".join(parts[2:])


def recorded_text(team: Team, record: Presented, created: bool) -> str:
    head = f"{name(record.student)} presented for {team.name} on {day_text(record.day)}"
    if created:
        return f"Recorded: {head}."
    return f"Already recorded (by {name(record.by)}), nothing changed: {head}."
