"""`jobs` and `notify jobs`: a student's Slurm jobs, and which of them end with a DM.

The notifier itself (services/jobs.py) runs outside any command; these only read the queue and
sacct and store the choice. Both are `slow`: they run Slurm tools (seconds on a busy cluster).
The choice is stored per cluster account, because the reconciliation poll sees cluster
users, not Mattermost ones; the roster links the two.
"""

from __future__ import annotations

from datetime import timedelta

from idlbot.commands.context import Context
from idlbot.commands.job_why import why
from idlbot.commands.registry import CommandGroup, UsageError
from idlbot.commands.reply import Reply
from idlbot.domain.defuse import defuse
from idlbot.domain.errors import UserError
from idlbot.domain.job_listing import ArrayLine, listing
from idlbot.domain.job_render import format_duration
from idlbot.domain.jobs import JobRecord
from idlbot.domain.timefmt import format_clock
from idlbot.ports.jobs import NOTIFY_MODES, Jobs

group = CommandGroup("GPU jobs")

RECENT = timedelta(hours=24)
_SHOWN = 30
_MODES = {
    "all": "every job of yours",
    "mail": "each job of yours submitted with `#SBATCH --mail-type=END,FAIL`",
    "off": "none of your jobs",
}


async def _cluster_user(ctx: Context, port: Jobs) -> str:
    name = await port.cluster_user(ctx.user.username)
    if name is None:
        raise UserError("I do not know your cluster account: ask the course staff to add it to the roster.")
    return name


def _line(job: JobRecord | ArrayLine, ctx: Context) -> str:
    if isinstance(job, ArrayLine):  # "12345[]": squeue's way of naming a whole array
        return f"- **{job.array_job_id}[]** “{defuse(job.name)}”: {job.text}"
    name = defuse(job.name)
    if not job.finished:
        since = f", running {format_duration(job.elapsed)}" if job.state == "RUNNING" else ""
        why = f" ({defuse(job.reason)})" if job.reason and job.state == "PENDING" else ""
        return f"- **{job.display_id}** “{name}” {job.state.lower()}{why}{since}"
    ended = f", ended {format_clock(job.end, ctx.user.tz)}" if job.end is not None else ""
    gpus = f", {job.gpus} GPU{'s' if job.gpus != 1 else ''}" if job.gpus else ""
    return f"- **{job.display_id}** “{name}” {job.outcome.value}{gpus}{ended}"


@group.command(
    "jobs",
    summary="Your running and pending Slurm jobs, and those that ended in the last 24 hours; "
    "`jobs why <id>` says why a job is still pending and what you can do.",
    usage="jobs [why <jobid>]",
    examples={"jobs": "Jobs of `al123`:", "jobs why 4711": "Job **4711** “train-resnet18” is not pending"},
    slow=True,
    needs=("jobs",),
)
async def jobs(ctx: Context, args: str) -> Reply:
    port = ctx.ports.jobs
    word, _, rest = args.partition(" ")
    if word.lower() == "why":
        return await why(ctx, port, rest)
    if args:
        raise UsageError()
    user = await _cluster_user(ctx, port)
    records = listing(await port.my_jobs(user, since=ctx.clock.now() - RECENT))
    if not records:
        return Reply.private(f"No jobs of `{user}` are queued or ended in the last 24 hours.")
    lines = [f"Jobs of `{user}`:"] + [_line(r, ctx) for r in records[:_SHOWN]]
    if len(records) > _SHOWN:
        lines.append(f"… and {len(records) - _SHOWN} more.")
    mode = await port.notify_mode(user)
    lines.append(
        f"DMs when jobs end: `{mode}` ({_MODES[mode]}); change with `/idl notify jobs all|mail|off`."
    )
    return Reply.private("\n".join(lines))


@group.command(
    "notify",
    summary="Choose which of your Slurm jobs end with a DM: all, mailed ones only, or none.",
    usage="notify jobs all|mail|off",
    examples={
        "notify jobs all": "From now on I DM you when every job of yours (cluster account `al123`) ends.",
        "notify jobs": "DMs when jobs end: `mail` (each job of yours submitted with",
    },
    needs=("jobs",),
)
async def notify(ctx: Context, args: str) -> Reply:
    words = args.lower().split()
    if not words or words[0] != "jobs":
        raise UsageError()
    port = ctx.ports.jobs
    user = await _cluster_user(ctx, port)
    if len(words) == 1:
        mode = await port.notify_mode(user)
        return Reply.private(f"DMs when jobs end: `{mode}` ({_MODES[mode]}).")
    chosen = next((m for m in NOTIFY_MODES if len(words) == 2 and m == words[1]), None)
    if chosen is None:
        raise UsageError()
    await port.set_notify_mode(user, user_id=ctx.user.id, mode=chosen, now=ctx.clock.now())
    if chosen == "off":
        return Reply.private(f"From now on I send no DM when a job of `{user}` ends.")
    return Reply.private(f"From now on I DM you when {_MODES[chosen]} (cluster account `{user}`) ends.")
