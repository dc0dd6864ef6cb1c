"""Any failure of a CLI command → one line for the operator, and the exit status.

`idlbot` is run by people setting up a course, not by its developers: a port that is
taken, a database that is missing or a GitLab token that expired must read as what is
wrong and what to do, in one line, and the traceback is only shown with `--debug`.
Failures the code raises on purpose are `OperatorError`s with their own wording (the
database's in `storage.reachable`, Mattermost's in `adapters.mattermost.setup`); the
rest are recognised here by kind. Anything unforeseen still gets one line, naming the
error and `--debug`.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable, Iterator

from idlbot.adapters.gitlab.client import GitLabError
from idlbot.domain.errors import OperatorError

ENVIRONMENT, USAGE = 1, 2
"""Exit statuses: the environment failed (try again once it is fixed) / the command line
or the configuration is wrong."""

_BIND = re.compile(r"bind on address \('?([^',]*)'?, (\d+)")


def causes(err: BaseException) -> Iterator[BaseException]:
    """`err`, then what it was raised from or during, and an exception group's members."""
    seen: set[int] = set()
    todo = [err]
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
        todo.extend(c for c in (e.__cause__, e.__context__) if c is not None)


def one_line(err: BaseException, *, port_option: Callable[[int], str], config: str | None) -> tuple[str, int]:
    """What to print and the exit status. `port_option(port)` names the option or key
    that sets `port` (for "port in use"); `config` is the config file's path, if any."""
    chain = list(causes(err))
    for e in chain:
        if isinstance(e, OperatorError):
            return str(e), e.code
    for e in chain:
        if isinstance(e, OSError) and (match := _BIND.search(str(e))):
            return _bind(e, match[1], int(match[2]), port_option(int(match[2]))), ENVIRONMENT
    for e in chain:
        if isinstance(e, GitLabError):
            return _gitlab(e, config or "the config", _url(chain)), ENVIRONMENT
    for e in chain:
        if isinstance(e, OSError) and e.filename is not None and e.errno in _FILE_ERRORS:
            return (
                f"cannot write {e.filename}: {e.strerror}; choose a path this user may write to",
                ENVIRONMENT,
            )
    text = str(err).splitlines()[0] if str(err) else ""
    what = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return f"unexpected {what} (run again with --debug for the traceback)", ENVIRONMENT


_FILE_ERRORS = {
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOENT,
    errno.ENOTDIR,
    errno.ENOSPC,
    errno.EEXIST,
}


def _bind(err: OSError, host: str, port: int, option: str) -> str:
    where = f"{host}:{port}"
    if err.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: the port is already in use (another idlbot, or another program); "
            f"stop it, or choose another port ({option})"
        )
    if err.errno == errno.EACCES:
        return (
            f"cannot listen on {where}: permission denied (ports below 1024 need root); "
            f"choose another port ({option})"
        )
    if err.errno == errno.EADDRNOTAVAIL:
        return (
            f"cannot listen on {where}: this machine has no such address; "
            "use 127.0.0.1, or 0.0.0.0 for every interface ([server] host in the config)"
        )
    return f"cannot listen on {where}: {err.strerror or err}"


def _url(chain: list[BaseException]) -> str:
    """The server a failed HTTP request went to, if the library's exception says."""
    for e in chain:
        url = getattr(getattr(e, "request", None), "url", None)
        if isinstance(url, str) and (match := re.match(r"https?://[^/]+", url)):
            return f" at {match[0]}"
    return ""


def _gitlab(err: GitLabError, config: str, where: str) -> str:
    if err.status is None:
        return (
            f"cannot reach GitLab{where} ({err.message}): check [gitlab] url in {config} "
            "and that the server is up, then try again"
        )
    if err.status == 401:
        return (
            "GitLab refused the token (401 Unauthorized): set IDLBOT_GITLAB_TOKEN to a valid access token "
            "with the api scope (it may have expired or been revoked)"
        )
    if err.status == 403:
        return (
            f"GitLab refused ({err.status}: {err.message}): the token's user needs the Maintainer role "
            "on the course project and the assignment repositories, and the token the api scope"
        )
    if err.status == 404:
        return (
            "GitLab has no such project or group, or the token's user cannot see it (404): "
            f"check [gitlab] project and assignments_group in {config}"
        )
    return f"GitLab answered {err.status}: {err.message}; try again later, or check the server's logs"
