"""POST /gitlab/webhook: verified GitLab hooks update the ledger within seconds.

Project hooks (the course project's; each assignment repository's tag-push hook) and an
admin's system hook (`X-Gitlab-Event: System Hook`, tag pushes of every project) arrive
here with the same secret.

Fails closed: without the right `X-Gitlab-Token` (compared in constant time, and an
empty configured secret matches nothing) the answer is 401 and nothing is parsed. A
duplicate delivery (same Idempotency-Key) is dropped by the sync. GitLab never retries
a hook, so the periodic reconciliation (`QualificationSync.reconcile`) is what makes a
missed or failed delivery harmless; that is also why a failure here answers 500 rather
than pretending success. A body that is not the JSON object of a hook, or whose fields
have the wrong type or range, gets 400 with one log line (`web.inputs`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from idlbot.adapters.gitlab import hooks as gitlab_hooks
from idlbot.clock import Clock
from idlbot.domain.gitlab import QuestionChanged
from idlbot.services.qualification_sync import QualificationSync
from idlbot.web.inputs import BadInput, bad_request, json_object
from idlbot.web.server import json_response

log = logging.getLogger(__name__)


@dataclass
class GitLabHookDeps:
    secret: str
    sync: QualificationSync | None
    clock: Clock
    on_question: Callable[[QuestionChanged, str | None], Awaitable[object]] | None = None


GITLAB_DEPS = web.AppKey("gitlab_deps", GitLabHookDeps)


async def gitlab_webhook(request: web.Request) -> web.Response:
    deps = request.app[GITLAB_DEPS]
    if not gitlab_hooks.verify(request.headers, deps.secret):
        log.warning(
            "gitlab webhook rejected from %s: bad token",
            request.remote,
            extra={"event": "gitlab_hook", "outcome": "unauthorized"},
        )
        return json_response({"error": "unauthorized"}, status=401)
    kind = request.headers.get("X-Gitlab-Event", "")
    try:
        payload = json_object(await request.read())
        event = gitlab_hooks.parse(kind, payload, received_at=deps.clock.now())
        key = gitlab_hooks.idempotency_key(request.headers)
    except (BadInput, gitlab_hooks.MalformedHook) as err:
        return bad_request(request, "gitlab_hook", err)
    changed = False
    if isinstance(event, QuestionChanged):
        if deps.on_question is not None:
            await deps.on_question(event, key)
    elif event is not None and deps.sync is not None:
        changed = await deps.sync.on_event(event, key)
    log.info(
        "gitlab hook %s key=%s changed=%s",
        kind,
        key,
        changed,
        extra={"event": "gitlab_hook", "outcome": "ok", "kind": kind},
    )
    return json_response({"ok": True, "changed": changed})


def add_gitlab_routes(app: web.Application, deps: GitLabHookDeps) -> None:
    app[GITLAB_DEPS] = deps
    app.router.add_post("/gitlab/webhook", gitlab_webhook)
