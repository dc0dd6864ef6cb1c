"""One course's view of the deployment's outbox: its keys carry the course.

The outbox is the deployment's (one worker sends every course's posts, one unique key
per post), but the keys are made by each course's services from what is unique within
the course: a date, an assignment id, a team, a user ("rem:questions:2018-10-23:…",
"blog:<user>:<week>"). Two courses with the same dates, or a student in both, would
share a key, and the second post would be dropped as "already queued". So each course of
a deployment of several queues through this view, which puts `<course id>/` in front of
every key it writes or reads; a one-course deployment keeps its keys as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from idlbot.domain.attachment import Attachment
from idlbot.storage.outbox import OutboxItem, SqlOutbox

__all__ = ["CourseOutbox", "course_prefix"]


def course_prefix(course_id: str) -> str:
    return f"{course_id}/"


class CourseOutbox:
    """The `Outbox` port (and the by-key read the agenda needs) for one course."""

    def __init__(self, outbox: SqlOutbox, course_id: str) -> None:
        self._outbox = outbox
        self.prefix = course_prefix(course_id)

    async def enqueue(
        self,
        *,
        key: str,
        message: str,
        now: datetime,
        channel_id: str | None = None,
        dm_user_id: str | None = None,
        props: dict[str, Any] | None = None,
        root_id: str | None = None,
        files: Sequence[Attachment] = (),
    ) -> bool:
        return await self._outbox.enqueue(
            key=self.prefix + key,
            message=message,
            now=now,
            channel_id=channel_id,
            dm_user_id=dm_user_id,
            props=props,
            root_id=root_id,
            files=files,
        )

    async def enqueue_dms(self, *, items: Sequence[tuple[str, str]], message: str, now: datetime) -> None:
        prefixed = [(self.prefix + key, user_id) for key, user_id in items]
        await self._outbox.enqueue_dms(items=prefixed, message=message, now=now)

    async def get(self, key: str) -> OutboxItem | None:
        return await self._outbox.get(self.prefix + key)
