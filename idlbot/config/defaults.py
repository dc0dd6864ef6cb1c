"""What an absent optional section means, in words, for `check-config`'s summary line.

An instructor who forgot [qualification] should not find out at the first exclusion
that the bot used 80 % and 2 fails: the summary names every section that was left out
and every default it stands for, or that the feature is off.
"""

from __future__ import annotations

from collections.abc import Iterable

from idlbot.domain.course import Rules, weekday_name
from idlbot.domain.settings import AgendaSettings


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _rules(r: Rules) -> str:
    return (
        f"using {r.on_time_quota * 100:g} % of assignments on time, "
        f"{_plural(r.fails_to_exclusion, 'fail')} to exclusion, {_plural(r.blog_posts, 'blog post')}, "
        f"{_plural(r.progress_reports, 'progress report')}, "
        f"group paper {'required' if r.group_paper else 'not required'}"
    )


def _agenda(a: AgendaSettings) -> str:
    label = "every open issue" if a.label is None else f"issues labelled '{a.label}'"
    return (
        f"using {label}, cutoff {weekday_name(a.cutoff_weekday)[:3].lower()} {a.cutoff_time:%H:%M}, "
        f"top {a.top}, channel {a.channel}, checked every {a.reconcile_minutes:g} min"
    )


def absent_sections(
    absent: Iterable[str], *, rules: Rules, agenda: AgendaSettings, database_url: str
) -> tuple[str, ...]:
    """One "[name] not set: …" note per optional section missing from the file."""
    meaning = {
        "qualification": _rules(rules),
        "database": f"using {database_url} (relative to the working directory)",
        "gitlab": "GitLab features off (hand-ins, questions, agenda, blog posts)",
        "reminders": "no reminders",
        "agenda": _agenda(agenda),
        "slurm": "cluster features off",
        "presenters": "no presenter rota, and presenting is not an exam rule",
        "classes": "no weekly class: the session-summary and presenter rotas are off",
        "blog_nudge": "no weekly learning-blog nudges",
        "warnings": "no early qualification warnings to students and no at-risk digest for staff",
        "summaries": "no session-summary rota (nobody is picked, reminded or recognised)",
    }
    return tuple(f"[{name}] not set: {meaning[name]}" for name in absent if name in meaning)
