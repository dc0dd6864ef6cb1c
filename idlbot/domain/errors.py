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
