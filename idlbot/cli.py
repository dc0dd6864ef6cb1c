"""The `idlbot` console script. Only this module exits the process.
(Over 300 lines: every subcommand's arguments and exit codes, in the one module that exits.)

Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or outdated schema (something
the operator must fix before trying again)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from idlbot import __version__

if TYPE_CHECKING:
    from idlbot.config import Settings


def _load(path: str, *, require_secrets: bool = True) -> Settings:
    from idlbot.config import load

    return load(path, require_secrets=require_secrets)


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _load(args.path, require_secrets=not args.no_secrets)
    print(f"ok: {settings.summary()}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from idlbot.storage.db import upgrade

    settings = _load(args.config, require_secrets=False)
    asyncio.run(upgrade(settings.database.url))
    print(f"database {settings.database.url} is at the newest schema")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from idlbot import logs
    from idlbot.app import run_forever

    settings = _load(args.config)
    s = settings.secrets
    logs.setup(
        args.log_level,
        secrets=(s.mattermost_token, s.slash_token, s.gitlab_token, s.gitlab_webhook_secret, s.slurm_secret),
    )
    clock = None
    if args.pretend_now:
        from idlbot.clock import ShiftedClock

        clock = ShiftedClock(_instant(args.pretend_now))
    asyncio.run(run_forever(settings, clock))
    return 0


def _instant(text: str) -> datetime:
    from idlbot.config import ConfigError

    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ConfigError([f"--pretend-now: invalid instant {text!r} (use YYYY-MM-DDTHH:MM+HH:MM)"])
    return when


def cmd_setup_mattermost(args: argparse.Namespace) -> int:
    from idlbot.adapters.mattermost.rest import MattermostChat
    from idlbot.adapters.mattermost.setup import setup_command
    from idlbot.commands import build_registry
    from idlbot.config import ConfigError

    settings = _load(args.config, require_secrets=False)
    if not settings.secrets.mattermost_token:
        raise ConfigError(["env IDLBOT_MATTERMOST_TOKEN: missing (the bot's access token)"])

    async def go() -> None:
        chat = MattermostChat(
            settings.mattermost.url,
            settings.secrets.mattermost_token or "",
            team=settings.mattermost.team,
            timeout=settings.mattermost.request_timeout,
        )
        try:
            await chat.login()
            action, command = await setup_command(chat, settings.server.public_url, build_registry())
        finally:
            await chat.close()
        print(f"{action} /idl in team {settings.mattermost.team} → {command['url']}")
        print(f"export IDLBOT_SLASH_TOKEN={command['token']}")

    asyncio.run(go())
    return 0


HOOK_EVENTS = (
    "tag_push_events", "wiki_page_events", "issues_events", "confidential_issues_events",
    "note_events", "confidential_note_events", "emoji_events",
)  # fmt: skip


def cmd_setup_gitlab(args: argparse.Namespace) -> int:
    from idlbot.adapters.gitlab.client import GitLabClient
    from idlbot.config import ConfigError

    settings = _load(args.config, require_secrets=False)
    s = settings.secrets
    problems = [] if settings.gitlab is not None else ["gitlab: missing section [gitlab]"]
    problems += [f"env {var}: missing" for var, value in (
        ("IDLBOT_GITLAB_TOKEN", s.gitlab_token), ("IDLBOT_GITLAB_WEBHOOK_SECRET", s.gitlab_webhook_secret)
    ) if not value]  # fmt: skip
    if problems or settings.gitlab is None:
        raise ConfigError(problems)
    url = settings.server.public_url.rstrip("/") + "/gitlab/webhook"

    async def go() -> str:
        assert settings.gitlab is not None
        client = GitLabClient(settings.gitlab, s.gitlab_token or "")
        try:
            return await client.ensure_project_hook(url, s.gitlab_webhook_secret or "", HOOK_EVENTS)
        finally:
            await client.close()

    action = asyncio.run(go())
    print(f"{action} the webhook of {settings.gitlab.project} → {url} ({', '.join(HOOK_EVENTS)})")
    return 0


def cmd_roster_import(args: argparse.Namespace) -> int:
    settings = _load(args.config, require_secrets=False)
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
    bar = ProgressBar(force=progress)

    async def run() -> ImportResult:
        engine = create_engine(settings.database.url)
        try:
            await ensure_up_to_date(engine)
            return await import_roster(
                path, SqlRoster(engine), settings.course, now=SystemClock().now(), progress=bar
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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="idlbot", description="A Mattermost bot for a university course.")
    p.add_argument("--version", action="version", version=f"idlbot {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bot")
    run.add_argument("--config", required=True)
    run.add_argument("--log-level", default="INFO")
    run.add_argument(
        "--pretend-now",
        metavar="INSTANT",
        help="rehearse: run with the clock starting at this instant (e.g. 2018-10-23T09:59:45+02:00) "
        "and moving in real time; for dry runs of a term and for crash tests",
    )
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check-config", help="validate a config file and the secrets in the environment")
    check.add_argument("path")
    check.add_argument(
        "--no-secrets", action="store_true", help="don't require the secrets in the environment"
    )
    check.set_defaults(func=cmd_check_config)

    migrate = sub.add_parser("migrate", help="upgrade the database schema to the newest version")
    migrate.add_argument("--config", required=True)
    migrate.set_defaults(func=cmd_migrate)

    setup = sub.add_parser("setup-mattermost", help="create or update the /idl slash command")
    setup.add_argument("--config", required=True)
    setup.set_defaults(func=cmd_setup_mattermost)

    setup_gl = sub.add_parser("setup-gitlab", help="create or update the course project's webhook")
    setup_gl.add_argument("--config", required=True)
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
    roster_import.add_argument("--progress", action="store_true", help="show a progress bar")
    roster_import.set_defaults(func=cmd_roster_import)

    demo = sub.add_parser("demo", help="run the bot against a built-in Mattermost simulator")
    data_help = "the demo's database, log and simulator state (default: ~/.local/state/idlbot/demo)"
    demo.add_argument("--data-dir", help=data_help + "; a restart on it resumes the demo")
    demo.add_argument("--port", type=int, default=8080, help="the bot's port (0 = any free port)")
    demo.add_argument("--mattermost-port", type=int, default=8065, help="the simulator's port")
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
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from idlbot.config import ConfigError
    from idlbot.storage.db import SchemaOutdated

    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as err:
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
    return code


if __name__ == "__main__":
    sys.exit(main())
