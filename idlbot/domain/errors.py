"""Errors a command may raise on purpose. The registry shows their text to the user."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix; the message is safe to show in chat."""


class Forbidden(UserError):
    """The user's role does not allow this."""


class NotFound(UserError):
    """The thing asked for does not exist."""


class Unavailable(Exception):
    """An outside system (GitLab, Slurm) did not answer or refused. Expected in an outage:
    the message is safe to log and names the system's answer, so whoever runs the bot
    gets one line instead of a traceback; the work is tried again later."""


class OperatorError(Exception):
    """Something whoever runs the bot must fix before trying again, said in one line: what
    is wrong and what to do (the CLI prints it without a traceback). `code` is the exit
    status: 2 for a mistake in the configuration or the command line, 1 when the
    environment fails (a server down, a port taken, a database missing)."""

    def __init__(self, message: str, *, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
