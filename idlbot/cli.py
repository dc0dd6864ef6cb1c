"""The `idlbot` console script. Only this module exits the process.
(Over 300 lines: every subcommand's arguments and exit codes, in the one module that exits.)

Exit codes: 0 ok, 1 runtime failure (the environment: a server down, a port taken), 2 a
usage mistake, bad configuration or outdated schema (something the operator must fix
before trying again). Every failure is one line on stderr (`failures.one_line`); the
traceback only with `--debug`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from idlbot import __version__

if TYPE_CHECKING:
    from idlbot.config import Deployment, GitLabSettings, Secrets, Settings


def _deployment(path: str, *, require_secrets: bool = True) -> Deployment:
    from idlbot.config import load_deployment

    return load_deployment(path, require_secrets=require_secrets)


def _courses(args: argparse.Namespace, *, require_secrets: bool = True) -> tuple[Deployment, list[Settings]]:
    """The deployment, and the courses a command for every course acts on: all of them,
    or the one `--course` names."""
    deployment = _deployment(args.config, require_secrets=require_secrets)
    if args.course is None:
        return deployment, list(deployment.courses)
    return deployment, [_pick(deployment, args.course)]


def _course(args: argparse.Namespace, *, require_secrets: bool = True) -> Settings:
    """The course a one-course command acts on: the deployment's only one, or `--course`."""
    return _pick(_deployment(args.config, require_secrets=require_secrets), args.course)


def _pick(deployment: Deployment, course_id: str | None) -> Settings:
    from idlbot.domain.errors import OperatorError

    ids = ", ".join(deployment.ids)
    if course_id is None and len(deployment.courses) == 1:
        return deployment.first
    if course_id is None:
        raise OperatorError(
            f"{deployment.source} has {len(deployment.courses)} courses: say which with --course ({ids})",
            code=2,
        )
    found = deployment.by_id(course_id)
    if found is None:
        raise OperatorError(
            f"--course {course_id}: no such course in {deployment.source} (its courses: {ids})", code=2
        )
    return found


def cmd_check_config(args: argparse.Namespace) -> int:
    """Takes the file as `--config PATH`, like every other subcommand, or bare (its
    original form, kept for scripts)."""
    if (args.path is None) == (args.config is None):
        print("idlbot check-config: give the config file once: --config PATH (see --help)", file=sys.stderr)
        return 2
    deployment = _deployment(args.config or args.path, require_secrets=not args.no_secrets)
    several = len(deployment.courses) > 1
    for settings in deployment.courses:  # one line per course, named by its id when there are several
        print(f"ok: {settings.course.id + ': ' if several else ''}{settings.summary()}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from idlbot.storage.db import upgrade

    # the whole deployment's database; records from before courses had ids are course one's
    settings = _deployment(args.config, require_secrets=False).first
    asyncio.run(upgrade(settings.database.url, course_one=settings.course.id))
    print(f"database {settings.database.url} is at the newest schema")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from idlbot import gctune

    with gctune.held_during_start():  # until `run_forever` has built the bot
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from idlbot import gctune, logs
    from idlbot.app import run_forever

    gctune.limit_malloc_arenas()  # before any thread starts
    deployment = _deployment(args.config)  # every course: a slash command's team picks its course
    settings = deployment.first
    s = settings.secrets
    logs.setup(
        args.log_level,
        secrets=(
            *(s.mattermost_token, s.gitlab_token, s.gitlab_webhook_secret, s.slurm_secret),
            *(course.secrets.slash_token for course in deployment.courses),
        ),
    )
    clock = None
    if args.pretend_now:
        from idlbot.clock import ShiftedClock

        clock = ShiftedClock(_instant(args.pretend_now))
    asyncio.run(run_forever(settings, clock, courses=deployment.courses))
    return 0


def _instant(text: str) -> datetime:
    from idlbot.domain.errors import OperatorError

    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise OperatorError(f"--pretend-now: invalid instant {text!r} (use YYYY-MM-DDTHH:MM+HH:MM)", code=2)
    return when


def cmd_setup_mattermost(args: argparse.Namespace) -> int:
    """/idl in every course's team (or `--course`'s): each command has its own token,
    printed as the variable the bot reads it from."""
    from idlbot.adapters.mattermost.rest import MattermostChat
    from idlbot.adapters.mattermost.setup import log_in_and_set_up
    from idlbot.commands import build_registry
    from idlbot.config import ConfigError

    deployment, courses = _courses(args, require_secrets=False)
    token = deployment.first.secrets.mattermost_token
    if not token:
        raise ConfigError(["env IDLBOT_MATTERMOST_TOKEN: missing (the bot's access token)"])

    async def go(settings: Settings) -> None:
        mm = settings.mattermost
        chat = MattermostChat(mm.url, token, team=mm.team, timeout=mm.request_timeout)
        try:
            action, command = await log_in_and_set_up(chat, settings.server.public_url, build_registry())
        finally:
            await chat.close()
        print(f"{action} /idl in team {mm.team} → {command['url']}")
        print(f"export {deployment.slash_variable(settings.course.id)}={command['token']}")

    for settings in courses:
        asyncio.run(go(settings))
    return 0


def cmd_setup_gitlab(args: argparse.Namespace) -> int:
    """Each course's project hook and the hand-in hook on every assignment repository of
    every course with [gitlab] (or `--course`'s): one line per project; exit 1 unless
    every one is in place."""
    from idlbot.config import ConfigError

    _, courses = _courses(args, require_secrets=False)
    with_gitlab = [(c, gl) for c in courses if (gl := c.gitlab) is not None]
    s = courses[0].secrets
    problems = [] if with_gitlab else ["gitlab: missing section [gitlab]"]
    problems += [f"env {var}: missing" for var, value in (
        ("IDLBOT_GITLAB_TOKEN", s.gitlab_token), ("IDLBOT_GITLAB_WEBHOOK_SECRET", s.gitlab_webhook_secret)
    ) if not value]  # fmt: skip
    if problems:
        raise ConfigError(problems)
    url = courses[0].server.public_url.rstrip("/") + "/gitlab/webhook"
    print(f"webhook {url} with the secret IDLBOT_GITLAB_WEBHOOK_SECRET")
    for settings in courses:
        if settings.gitlab is None:
            print(f"course {settings.course.id}: no [gitlab], skipped")
    in_place = total = 0
    for settings, gitlab in with_gitlab:
        done, count = _setup_gitlab_course(gitlab, settings.secrets, url)
        in_place, total = in_place + done, total + count
    missing = total - in_place
    print(f"{in_place} of {total} projects in place" + (
        f"; {missing} not: hand-ins there wait for the reconciliation" if missing else ""))  # fmt: skip
    return 1 if missing else 0


def _setup_gitlab_course(gl: GitLabSettings, secrets: Secrets, url: str) -> tuple[int, int]:
    """One course's hooks, a line each: (how many are in place, how many there are)."""
    from idlbot.adapters.gitlab.client import GitLabClient
    from idlbot.services.repo_hooks import HookLine, RepoHooks

    async def go() -> list[HookLine]:
        client = GitLabClient(gl, secrets.gitlab_token or "")
        secret = secrets.gitlab_webhook_secret or ""
        hooks = RepoHooks(client, lambda: url, secret, course_project=gl.project, workers=gl.max_workers)
        try:
            return await hooks.setup(repositories=gl.repository_hooks)
        finally:
            await client.close()

    lines = asyncio.run(go())
    for line in lines:
        print(line)
    if not gl.repository_hooks:
        print(f"{gl.assignments_group}: repository hooks off ([gitlab] repository_hooks = false: "
              "hand-ins need a system hook with tag push events)")  # fmt: skip
    return sum(line.in_place for line in lines), len(lines)


def cmd_roster_import(args: argparse.Namespace) -> int:
    settings = _course(args, require_secrets=False)
    return cli_import(args.file, settings, progress=args.progress or sys.stderr.isatty())


class ProgressBar:
    """A plain-text bar on stderr, ``\\r``-redrawn; silent unless a TTY or ``force``.

    Silent by default when piped, so logs and CI output do not fill with redraws."""

    def __init__(self, stream: TextIO | None = None, *, force: bool = False, width: int = 30) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = force or self._stream.isatty()
        self._width = width
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self._enabled:
            return
        filled = self._width if total <= 0 else min(self._width, self._width * done // total)
        bar = "#" * filled + "." * (self._width - filled)
        self._stream.write(f"\r[{bar}] {done}/{total}")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()


def cli_import(
    path: str | Path, settings: Settings, *, progress: bool = False, out: TextIO | None = None
) -> int:
    """`idlbot roster import`: 0 when written, 2 when the file is invalid (every error listed).

    Refuses an outdated schema (``SchemaOutdated`` propagates; the CLI maps it to 2)."""
    from idlbot.clock import SystemClock
    from idlbot.services.roster_import import ImportResult, import_roster
    from idlbot.storage.db import create_engine, ensure_up_to_date, run_blocking
    from idlbot.storage.roster import SqlRoster

    stdout = out if out is not None else sys.stdout
    try:  # a file that is not there is one line, before the database is touched
        with open(path, "rb"):
            pass
    except OSError as err:
        print(f"roster import: cannot read {path} ({err.strerror}); check the path", file=sys.stderr)
        return 2
    bar = ProgressBar(force=progress)

    async def run() -> ImportResult:
        engine = create_engine(settings.database.url)
        try:
            await ensure_up_to_date(engine)
            return await import_roster(
                path,
                SqlRoster(engine, course=settings.course.id),
                settings.course,
                now=SystemClock().now(),
                progress=bar,
            )
        finally:
            bar.close()
            await engine.dispose()

    result = run_blocking(run())
    if result.counts is None:
        print(f"{path}: {len(result.errors)} problem(s), nothing imported:", file=sys.stderr)
        for error in result.errors:
            print(f"  {error}", file=sys.stderr)
        return 2
    c = result.counts
    print(
        f"{path}: {c.total} students: {c.created} new, {c.updated} updated, {c.unchanged} unchanged",
        file=stdout,
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from idlbot.devtools.demo import run_demo

    asyncio.run(
        run_demo(
            data_dir=args.data_dir,
            bot_port=args.port,
            mm_port=args.mattermost_port,
            interactive=None if not args.no_prompt else False,
            with_cluster=args.with_cluster,
        )
    )
    return 0


def cmd_say(args: argparse.Namespace) -> int:
    from idlbot.devtools.demo import say

    return asyncio.run(
        say(
            args.as_user, " ".join(args.text), data_dir=args.data_dir, dm=args.dm, wait=args.wait,
            files_dir=args.files_dir,
        )
    )  # fmt: skip


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r} (use 0 to 65535; 0 = any free port)")
    return int(text)


COURSE_HELP = "the course's id ([course] id), when the deployment has several"
EVERY_COURSE_HELP = "only this course (its [course] id); default: every course of the deployment"
DEBUG_HELP = "show the traceback of a failure instead of one line saying what is wrong"


class _Parser(argparse.ArgumentParser):
    """A usage mistake is one line too, pointing at --help (which shows the whole usage);
    subcommands' parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="idlbot", description="A Mattermost bot for a university course.")
    p.add_argument("--version", action="version", version=f"idlbot {__version__}")
    p.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bot")
    run.add_argument("--config", required=True)
    run.add_argument("--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, help="in any case")
    run.add_argument(
        "--pretend-now",
        metavar="INSTANT",
        help="rehearse: run with the clock starting at this instant (e.g. 2018-10-23T09:59:45+02:00) "
        "and moving in real time; for dry runs of a term and for crash tests",
    )
    run.set_defaults(func=cmd_run)

    check = sub.add_parser(
        "check-config", help="validate a config file (or a deployment and its course files) and the secrets"
    )
    check.add_argument("--config", help="the config or deployment file (also accepted without --config)")
    check.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    check.add_argument(
        "--no-secrets", action="store_true", help="don't require the secrets in the environment"
    )
    check.set_defaults(func=cmd_check_config)

    migrate = sub.add_parser("migrate", help="upgrade the database schema to the newest version")
    migrate.add_argument("--config", required=True)
    migrate.set_defaults(func=cmd_migrate)

    setup = sub.add_parser("setup-mattermost", help="create or update the /idl slash command")
    setup.add_argument("--config", required=True)
    setup.add_argument("--course", metavar="ID", help=EVERY_COURSE_HELP)
    setup.set_defaults(func=cmd_setup_mattermost)

    setup_gl = sub.add_parser(
        "setup-gitlab", help="ensure the webhooks of the course project and every assignment repo"
    )
    setup_gl.add_argument("--config", required=True)
    setup_gl.add_argument("--course", metavar="ID", help=EVERY_COURSE_HELP)
    setup_gl.set_defaults(func=cmd_setup_gitlab)

    roster = sub.add_parser("roster", help="the course roster")
    roster_sub = roster.add_subparsers(dest="roster_command", required=True)
    roster_import = roster_sub.add_parser(
        "import", help="import students from a CSV file (idempotent; errors name the line)"
    )
    roster_import.add_argument(
        "file", help="CSV: mattermost_username,gitlab_username,cluster_username,exercise_group,team"
    )
    roster_import.add_argument("--config", required=True)
    roster_import.add_argument("--course", metavar="ID", help=COURSE_HELP)
    roster_import.add_argument("--progress", action="store_true", help="show a progress bar")
    roster_import.set_defaults(func=cmd_roster_import)

    demo = sub.add_parser("demo", help="run the bot against a built-in Mattermost simulator")
    data_help = "the demo's database, log and simulator state (default: ~/.local/state/idlbot/demo)"
    demo.add_argument("--data-dir", help=data_help + "; a restart on it resumes the demo")
    demo.add_argument("--port", type=_port, default=8080, help="the bot's port (0 = any free port)")
    demo.add_argument("--mattermost-port", type=_port, default=8065, help="the simulator's port")
    demo.add_argument("--no-prompt", action="store_true", help="no interactive prompt")
    demo.add_argument(
        "--with-cluster", action="store_true",
        help="use the local Slurm (sudo scripts/slurm/up.sh) for /idl jobs, maintenance and job DMs; "
        "the demo clock is then the real time",
    )  # fmt: skip
    demo.set_defaults(func=cmd_demo)

    say = sub.add_parser("say", help="talk to a running demo as one of its users")
    say.add_argument("--as", dest="as_user", default="alice")
    say.add_argument("--dm", action="store_true", help="send as a DM to the bot instead of a slash command")
    say.add_argument("--data-dir", help="the running demo's --data-dir, if it was given one")
    say.add_argument("--files-dir", help="where files the bot sends are saved (default: DATA_DIR/files)")
    say.add_argument("--wait", type=float, default=3.0, help="seconds to wait for later replies")
    say.add_argument("text", nargs="+")
    say.set_defaults(func=cmd_say)
    _debug_everywhere(sub)
    return p


def _debug_everywhere(sub: argparse._SubParsersAction[_Parser]) -> None:
    """`--debug` after the subcommand too (`idlbot run --config c.toml --debug`);
    SUPPRESS keeps a subcommand from resetting a `--debug` given before it."""
    for command in sub.choices.values():
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                _debug_everywhere(action)


def _port_option(args: argparse.Namespace) -> Callable[[int], str]:
    """What sets the port that was taken, for the one-line "port in use" message."""
    if args.command == "demo":
        return lambda port: "--mattermost-port" if port == args.mattermost_port else "--port"
    config = getattr(args, "config", None) or "the config"
    return lambda _: f"[server] port in {config}"


def main(argv: Sequence[str] | None = None) -> int:
    from idlbot.config import ConfigError
    from idlbot.storage.db import SchemaOutdated

    args = parser().parse_args(argv)
    if args.command not in ("run", "demo"):  # they set up their own log
        from idlbot import logs

        logs.setup("WARNING", json_lines=False)  # and the libraries' retry chatter stays quiet
    try:
        code: int = args.func(args)
    except ConfigError as err:
        if len(err.problems) == 1:  # one line, naming the file unless the problem does
            problem = err.problems[0]
            named = err.located or problem.startswith((err.source, "env ", "-")) or err.source == "<config>"
            print(f"idlbot {args.command}: {'' if named else err.source + ': '}{problem}", file=sys.stderr)
            return 2
        print(f"configuration has {len(err.problems)} problem(s):", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except SchemaOutdated as err:
        config = getattr(args, "config", None) or "PATH"
        print(str(err).replace("--config PATH", f"--config {config}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`idlbot say ... | head`): stop quietly, as other tools do;
        # stdout goes to devnull so the interpreter's final flush cannot raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as err:
        if args.debug:
            raise
        from idlbot.failures import one_line

        line, status = one_line(err, port_option=_port_option(args), config=getattr(args, "config", None))
        print(f"idlbot {args.command}: {line}", file=sys.stderr)
        return status
    return code


if __name__ == "__main__":
    sys.exit(main())
