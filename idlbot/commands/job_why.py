"""`jobs why <jobid>`: why a job is still pending, and what to do about it.

The explanations are `domain/job_reasons.py`'s; this module finds the job (squeue first:
slurmctld knows pending jobs at once and ended ones for a while; then sacct), keeps students
to their own jobs (staff may ask about any), and phrases the reply. Refusing a student a job
of someone else says no more than squeue shows every cluster user anyway.
"""

from __future__ import annotations

import re

from idlbot.commands.context import Context
from idlbot.commands.reply import Reply
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import Forbidden, UserError
from idlbot.domain.job_listing import ArrayLine, listing
from idlbot.domain.job_reasons import WhyFacts, explain, parse_reason
from idlbot.domain.job_render import human_duration
from idlbot.domain.jobs import JobRecord
from idlbot.domain.roles import Role
from idlbot.domain.timefmt import format_clock
from idlbot.ports.jobs import Jobs

_JOB_ID = re.compile(r"(\d{1,10})(?:_(\d{1,10}))?")
USAGE = "Give a job id, e.g. `/idl jobs why 12345` (or `12345_7` for one task of an array)."


async def _records(port: Jobs, text: str) -> list[JobRecord]:
    match = _JOB_ID.fullmatch(text)
    if match is None:
        raise UserError(USAGE)
    records = await port.queued(text)
    if records:
        return records
    history = await port.history(int(match.group(1)))
    if match.group(2) is not None:
        return [r for r in history if int(match.group(2)) in r.task_ids]
    return history


def _state(record: JobRecord, ctx: Context) -> str:
    """What a job that is not pending is doing, in a clause after "it"."""
    if record.state == "RUNNING":
        limit = f" of its {human_duration(record.time_limit)} limit" if record.time_limit else ""
        return f"is running (for {human_duration(record.elapsed)}{limit})"
    if not record.finished:
        return f"is {defuse(record.state.lower())}"
    ended = f", ended {format_clock(record.end, ctx.user.tz)}" if record.end is not None else ""
    return f"{record.outcome.value}{ended}"


async def why(ctx: Context, port: Jobs, text: str) -> Reply:
    """The command's body; `text` is what follows `jobs why`."""
    text = text.strip()
    me = None
    if ctx.user.role < Role.TUTOR:  # staff may ask about any job
        me = await port.cluster_user(ctx.user.username)
        if me is None:
            raise UserError(
                "I do not know your cluster account: ask the course staff to add it to the roster."
            )
    records = await _records(port, text)
    if me is not None and records and all(r.user != me for r in records):
        raise Forbidden(f"You can ask only about your own jobs; job {text} is not one of `{me}`'s.")
    if not records:
        return Reply.private(f"I find no job {text} on the cluster.")
    pending = [r for r in records if r.state == "PENDING"]
    name = defuse(records[0].name)
    if not pending:
        arrays = [x for x in listing(records) if isinstance(x, ArrayLine)]
        if len(records) > 1 and arrays:
            return Reply.private(f"Array job **{text}** “{name}” has no pending task: {arrays[0].text}.")
        return Reply.private(f"Job **{text}** “{name}” is not pending: it {_state(records[0], ctx)}.")
    windows = await port.maintenance_windows()
    tz = ctx.course.tz  # maintenance windows are announced in course time
    lines = []
    for record in pending[:5]:
        reason = parse_reason(record.reason or "None")
        facts = WhyFacts(
            job=text, reason=reason, now=ctx.clock.now(), tz=tz, dependency=record.dependency,
            begin=record.eligible, time_limit=record.time_limit, windows=windows,
            reservation=record.reservation,
        )  # fmt: skip
        said = explain(facts)
        code = defuse(reason.code + (f", {reason.detail}" if reason.detail else ""))
        lines += [
            f"Job **{defuse(record.display_id)}** “{name}” is pending (Slurm's reason: “{code}”).",
            f"Why: {said.what}",
            f"Next step: {said.next_step}",
        ]
    return Reply.private("\n".join(lines))
