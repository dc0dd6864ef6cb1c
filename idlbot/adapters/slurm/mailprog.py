"""`idlbot-slurm-mail`: Slurm's MailProg, turning job mail into signed events for the bot.

slurmctld runs MailProg as `mail -s "<subject>" <recipient>` with only SLURM_JOB_* variables
in the environment (no PATH, no HOME: seen on 22.05), and waits for it in one of its agent
threads. So this program must never block: it spools the event to a JSON file first (write a
temp file, then rename, so a reader never sees half a file), then forks; the parent exits 0 at
once and the detached child tries one POST to the bot's /slurm/event with a short timeout. On a
2xx the child removes the spool file. Whatever is left in the spool is sent by `--flush` (run
it from cron, or let the bot flush on start), so a bot that is down loses nothing.

Signing: `X-Idlbot-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with the shared secret,
and `X-Idlbot-Timestamp: <unix seconds>`. The body carries the same value as "sent_at", so the
signature covers it: a receiver checks the HMAC, that header and body agree, and that the time is
recent (`verify`), which bounds replays to that window; "id" lets it drop duplicates.

Config: TOML at $IDLBOT_SLURM_MAIL_CONFIG or /etc/idlbot/slurm-mail.toml (slurmctld's environment
is empty, so in production it is the file), keys `spool_dir`, `bot_url`, and `secret_file` or
`secret_env` (default env variable IDLBOT_SLURM_SECRET). Exit status is always 0 under slurmctld.
Run by hand (no SLURM_JOB_ID in the environment), `--help` prints the usage, and a call that is
not `-s SUBJECT USER` is refused in one line with status 2, spooling nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONFIG = "/etc/idlbot/slurm-mail.toml"
DEFAULT_SPOOL = "/var/spool/idlbot-slurm-mail"
SIGNATURE_HEADER = "X-Idlbot-Signature"
TIMESTAMP_HEADER = "X-Idlbot-Timestamp"
MAX_SKEW_SECONDS = 300
POST_TIMEOUT = 2.0
_KEYS = {"spool_dir", "bot_url", "secret_env", "secret_file", "timeout"}


@dataclass(frozen=True)
class MailConfig:
    spool_dir: Path = Path(DEFAULT_SPOOL)
    bot_url: str | None = None  # e.g. http://127.0.0.1:8080/slurm/event; None: spool only
    secret: bytes | None = field(default=None, repr=False)
    timeout: float = POST_TIMEOUT


def _config_path(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("IDLBOT_SLURM_MAIL_CONFIG", DEFAULT_CONFIG))


def load_config(environ: Mapping[str, str]) -> MailConfig:
    """Read the TOML config; a missing file means defaults (spool only, nothing is lost)."""
    path = _config_path(environ)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        data = {}
    except OSError as err:
        raise ValueError(f"{path}: cannot read ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: invalid TOML: {err}") from None
    unknown = set(data) - _KEYS
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    secret: bytes | None = None
    if "secret_file" in data:
        try:
            secret = Path(str(data["secret_file"])).read_text().strip().encode()
        except OSError as err:
            raise ValueError(
                f"{path}: secret_file: cannot read {data['secret_file']} ({err.strerror})"
            ) from None
    else:
        value = environ.get(str(data.get("secret_env", "IDLBOT_SLURM_SECRET")))
        secret = value.encode() if value else None
    timeout = data.get("timeout", POST_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
        raise ValueError(f"{path}: timeout: must be a number of seconds, more than 0 and at most 60")
    return MailConfig(
        spool_dir=Path(str(data.get("spool_dir", DEFAULT_SPOOL))),
        bot_url=str(data["bot_url"]) if data.get("bot_url") else None,
        secret=secret,
        timeout=float(timeout),
    )


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, headers: Mapping[str, str], now: float | None = None) -> bool:
    """For the bot's /slurm/event route: constant-time HMAC check, header/body timestamp agree,
    and the timestamp is within MAX_SKEW_SECONDS of `now`."""
    given = headers.get(SIGNATURE_HEADER, "")
    # surrogatepass: a header with raw non-UTF-8 bytes arrives with lone surrogates in it
    if not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), sign(secret, body).encode()):
        return False
    try:
        stamp = int(headers.get(TIMESTAMP_HEADER, ""))
        sent_at = json.loads(body).get("sent_at")
    except (ValueError, AttributeError, RecursionError):
        return False
    current = time.time() if now is None else now
    return sent_at == stamp and abs(current - stamp) <= MAX_SKEW_SECONDS


def build_event(argv: Sequence[str], environ: Mapping[str, str], now: float) -> dict[str, object]:
    """The event as spooled: mail subject and recipient, plus every SLURM_* variable."""
    subject, recipient = "", ""
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "-s" and rest:
            subject = rest.pop(0)
        elif not arg.startswith("-"):
            recipient = arg
    slurm = {k: v for k, v in sorted(environ.items()) if k.startswith("SLURM_")}
    return {
        "version": 1,
        "id": str(uuid.uuid4()),
        "received_at": int(now),
        "subject": subject,
        "recipient": recipient,
        "cluster": slurm.get("SLURM_CLUSTER_NAME", ""),
        "job_id": slurm.get("SLURM_JOB_ID", ""),
        "mail_type": slurm.get("SLURM_JOB_MAIL_TYPE", ""),
        "state": slurm.get("SLURM_JOB_STATE", ""),
        "env": slurm,
    }


def spool(config: MailConfig, event: Mapping[str, object]) -> Path:
    """Write the event atomically: a reader (--flush, the bot) sees the whole file or none."""
    config.spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = config.spool_dir / f"{int(time.time() * 1000):013d}-{event['id']}.json"
    tmp = config.spool_dir / f".{final.name}.tmp"
    with open(tmp, "w") as handle:
        json.dump(event, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, final)
    return final


def send(config: MailConfig, path: Path) -> bool:
    """POST one spooled event; remove it on 2xx. False (file kept) on any failure."""
    if not config.bot_url or config.secret is None:
        return False
    try:
        event = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    stamp = int(time.time())
    event["sent_at"] = stamp
    body = json.dumps(event, sort_keys=True).encode()
    request = urllib.request.Request(
        config.bot_url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(config.secret, body),
            TIMESTAMP_HEADER: str(stamp),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=config.timeout) as response:
            ok = 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False
    if ok:
        path.unlink(missing_ok=True)
    return ok


def flush(config: MailConfig) -> tuple[int, int]:
    """Re-send every spooled event, oldest first; returns (sent, left)."""
    if not config.spool_dir.is_dir():
        return 0, 0
    sent = left = 0
    for path in sorted(config.spool_dir.glob("*.json")):
        if send(config, path):
            sent += 1
        else:
            left += 1
    return sent, left


def _detach() -> bool:
    """Fork; True in the child (which carries on alone), False in the parent. The child starts a
    new session and drops stdio, so slurmctld's waitpid returns and no pipe is held open."""
    try:
        if os.fork() != 0:
            return False
    except OSError:
        return True  # cannot fork: send in-process, still bounded by the timeout
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    return True


USAGE = f"""\
usage: idlbot-slurm-mail -s SUBJECT USER   how slurmctld runs it (slurm.conf: MailProg=<this path>)
       idlbot-slurm-mail --flush           send what is spooled (from cron, e.g. every 5 minutes)
       idlbot-slurm-mail --help

Spools the Slurm job event it is called for (the SLURM_* variables slurmctld sets) and sends
it, signed, to the bot's /slurm/event; what could not be sent stays spooled for --flush.
Config: $IDLBOT_SLURM_MAIL_CONFIG or {DEFAULT_CONFIG}, keys spool_dir, bot_url, secret_file or
secret_env, timeout. Under slurmctld it always exits 0."""


def usage_error(args: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """Why this is no MailProg call, or None. Under slurmctld (SLURM_JOB_ID set) nothing is
    refused, as documented: an event with a strange argv still beats a lost one. Run by hand,
    a typo (`--fluhs`, `-h` meant as help, no arguments at all) must not spool an empty event."""
    if "SLURM_JOB_ID" in environ:
        return None
    subject, users = args[1:2] if args[:1] == ["-s"] else [], args[2:] if args[:1] == ["-s"] else args
    if unknown := next((a for a in users if a.startswith("-")), None):
        return f"unknown option {unknown!r}"
    if not subject or len(users) != 1:
        return "expected -s SUBJECT USER, as slurmctld calls it (and SLURM_JOB_ID in the environment)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ
    if any(a in ("-h", "--help") for a in args) and "SLURM_JOB_ID" not in environ:
        print(USAGE)
        return 0
    if args[:1] == ["--flush"]:
        if len(args) > 1:
            print(
                f"idlbot-slurm-mail: --flush takes no arguments (got {args[1]!r}); see --help",
                file=sys.stderr,
            )
            return 2
        try:
            config = load_config(environ)
            sent, left = flush(config)
        except (OSError, ValueError) as err:
            print(f"idlbot-slurm-mail: {err}; see --help", file=sys.stderr)
            return 2
        print(f"idlbot-slurm-mail: sent {sent}, left {left} in {config.spool_dir}")
        return 0 if left == 0 else 1
    foreground = "--foreground" in args  # for tests and debugging: no fork
    args = [a for a in args if a != "--foreground"]
    problem = usage_error(args, environ)
    if problem is not None:
        print(f"idlbot-slurm-mail: {problem}; nothing spooled (see --help)", file=sys.stderr)
        return 2
    try:
        config = load_config(environ)
        path = spool(config, build_event(args, environ, time.time()))
    except Exception as err:  # noqa: BLE001 - MailProg must exit 0 whatever happens; slurmctld logs stderr
        print(f"idlbot-slurm-mail: could not spool: {err}", file=sys.stderr)
        return 0
    if foreground or _detach():
        try:
            send(config, path)
        finally:
            if not foreground:
                os._exit(0)  # the detached child: no atexit handlers, no buffered output
    return 0


if __name__ == "__main__":
    sys.exit(main())
