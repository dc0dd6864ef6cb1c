"""FailureNotices: the author of a reminder or an announcement hears, once, that it failed.

A post the outbox gives up on (channel archived, bot removed) or a reminder whose channel
is gone when it fires is shown in `/idl health`, but staff look there only when something
seems wrong; the author is the one who expects the post. So each such failure is DMed to
its author, through the outbox under `NOTICE_PREFIX + key`: the unique key makes it one
notice per failure whoever runs the pass, however often, across crashes and restarts.

It is a periodic pass (and runs at start) rather than a hook in the outbox worker, so a
crash between "given up" and "notice queued" loses nothing: the next pass finds the
failure without a notice and queues it. Only failures of the last `LOOKBACK` are looked
at: a bot upgraded into a term with old failures does not DM about last month.

Configured reminders (from the course config) have no author; their failures show in
`/idl health` and `/idl remind log`, where the instructors who own the config look.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from idlbot.domain.announce import Announcement
from idlbot.domain.failure_notice import announcement_notice, reminder_notice
from idlbot.domain.reminders import CustomReminder
from idlbot.ports.failures import NOTICE_PREFIX, DeliveryFailure, FailureLog
from idlbot.ports.outbox import Outbox

log = logging.getLogger(__name__)

REMINDER = "rem:custom:"
ANNOUNCEMENT = "announce:"
LOOKBACK = timedelta(days=7)


def _id_after(prefix: str, key: str) -> int | None:
    head = key.removeprefix(prefix).split(":", 1)[0]
    return int(head) if head.isdigit() and len(head) < 12 else None


class FailureNotices:
    def __init__(
        self,
        failures: FailureLog,
        outbox: Outbox,
        *,
        reminder: Callable[[int], Awaitable[CustomReminder | None]],
        announcement: Callable[[int], Awaitable[Announcement | None]],
        channel_name: Callable[[str], str],
        tz: ZoneInfo,
        wake: Callable[[], None] | None = None,
        lookback: timedelta = LOOKBACK,
        key_prefix: str = "",
    ) -> None:
        """`channel_name` turns a reminder's channel (a purpose or a name) into the name.
        `key_prefix`: the course's, in a deployment of several (`storage/course_outbox.py`):
        this course's failures are the keys that start with it. `outbox` is the
        deployment's own (a notice's key is `NOTICE_PREFIX` + the failed key as stored)."""
        self._prefix = key_prefix
        self._failures = failures
        self._outbox = outbox
        self._reminder = reminder
        self._announcement = announcement
        self._channel_name = channel_name
        self._tz = tz
        self._wake = wake
        self.lookback = lookback

    async def run(self, now: datetime) -> int:
        """Queue a notice for every failure without one; how many were queued."""
        queued = 0
        prefixes = (self._prefix + REMINDER, self._prefix + ANNOUNCEMENT)
        found = await self._failures.unreported(prefixes=prefixes, since=now - self.lookback)
        for failure in found:
            notice = await self._notice(failure)
            if notice is None:
                continue
            user_id, text = notice
            key = NOTICE_PREFIX + failure.key
            if await self._outbox.enqueue(key=key, message=text, now=now, dm_user_id=user_id):
                queued += 1
                log.warning(
                    "delivery %s failed for good (%s); its author is told",
                    failure.key,
                    failure.error,
                    extra={"event": "delivery", "key": failure.key, "outcome": "author_notified"},
                )
        if queued and self._wake is not None:
            self._wake()
        return queued

    async def _notice(self, failure: DeliveryFailure) -> tuple[str, str] | None:
        """(author's user id, text), or None when the key names nothing with an author."""
        key = failure.key.removeprefix(self._prefix)
        if key.startswith(REMINDER):
            reminder_id = _id_after(REMINDER, key)
            reminder = await self._reminder(reminder_id) if reminder_id is not None else None
            if reminder is None or reminder.created_by_id is None:
                return None
            channel = self._channel_name(reminder.channel)
            text = reminder_notice(reminder, channel, failure.error, failure.at, self._tz)
            return reminder.created_by_id, text
        announcement_id = _id_after(ANNOUNCEMENT, key)
        a = await self._announcement(announcement_id) if announcement_id is not None else None
        if a is None:
            return None
        return a.created_by_id, announcement_notice(a, failure.error, failure.at, self._tz)
