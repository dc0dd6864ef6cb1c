"""POST /slurm/event: signed MailProg events become job DMs within seconds.

Fails closed: the body's HMAC (`mailprog.verify`, constant time, timestamp within
MAX_SKEW_SECONDS) must match the shared secret, and an empty secret matches nothing (an
empty HMAC key is one anybody could guess). Otherwise 401 and nothing is parsed, stored
or posted. The answer is 2xx only after the event is stored: the MailProg deletes its
spool file on a 2xx, so answering earlier could lose an event to a crash. A resend with
the same event id answers 200 and does nothing. A signed body that is no event (not a
JSON object, no job id, an id out of range) gets 400 with one log line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from idlbot.adapters.slurm import mailprog
from idlbot.domain.job_events import InvalidJobEvent, JobEvent, parse_job_event
from idlbot.web.inputs import MAX_NESTING, BadInput, bad_request, json_object, nested_at_most
from idlbot.web.server import json_response

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024  # a MailProg event is about 2 kB; refuse anything far larger unread


class EventSink(Protocol):
    async def accept(self, event: JobEvent) -> bool: ...


@dataclass
class SlurmEventDeps:
    secret: bytes = field(repr=False)
    notifier: EventSink
    # The replay window is transport, not course time: the MailProg stamps the real time,
    # so the check reads the real time too, also when the bot's course clock is shifted
    # (`--pretend-now`, the demo), which refused every event when it was used here.
    wall: Callable[[], float] = time.time


SLURM_DEPS = web.AppKey("slurm_deps", SlurmEventDeps)


async def slurm_event(request: web.Request) -> web.Response:
    deps = request.app[SLURM_DEPS]
    if request.content_length is not None and request.content_length > MAX_BODY:
        return json_response({"error": "too large"}, status=413)
    body = await request.read()
    # verify reads the body's sent_at with the decoder, which must not recurse deep (see
    # `nested_at_most`); a body too deep to read has no sent_at to check, as before
    readable = nested_at_most(body, MAX_NESTING)
    if not (
        deps.secret and readable and mailprog.verify(deps.secret, body, request.headers, now=deps.wall())
    ):
        log.warning(
            "slurm event rejected from %s: bad signature",
            request.remote,
            extra={"event": "slurm_event", "outcome": "unauthorized"},
        )
        return json_response({"error": "unauthorized"}, status=401)
    try:
        event = parse_job_event(json_object(body))
    except (BadInput, InvalidJobEvent) as err:
        return bad_request(request, "slurm_event", err)
    new = await deps.notifier.accept(event)
    log.info(
        "slurm event %s job=%s new=%s",
        event.id,
        event.job_id,
        new,
        extra={"event": "slurm_event", "outcome": "ok" if new else "duplicate"},
    )
    return json_response({"ok": True, "duplicate": not new}, status=202 if new else 200)


def add_slurm_routes(app: web.Application, deps: SlurmEventDeps) -> None:
    app[SLURM_DEPS] = deps
    app.router.add_post("/slurm/event", slurm_event)
