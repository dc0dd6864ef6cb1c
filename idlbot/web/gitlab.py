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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

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
    # what the course owns, in a deployment of several: its project, its assignments group
    project: str | None = None
    group: str | None = None

    def owns(self, path: str) -> bool:
        path = path.lower()
        if self.project is not None and path == self.project.lower():
            return True
        return self.group is not None and path.startswith(self.group.lower().rstrip("/") + "/")


GITLAB_DEPS = web.AppKey("gitlab_deps", tuple[GitLabHookDeps, ...])


def project_path(payload: Mapping[str, Any]) -> str | None:
    """The project a hook is about: `project.path_with_namespace` in project hooks (and
    system hooks' tag pushes), `path_with_namespace` at the top of other system hooks."""
    project = payload.get("project")
    found = project.get("path_with_namespace") if isinstance(project, Mapping) else None
    found = found if isinstance(found, str) else payload.get("path_with_namespace")
    return found if isinstance(found, str) else None


def _course_deps(every: tuple[GitLabHookDeps, ...], payload: Mapping[str, Any]) -> GitLabHookDeps | None:
    """The course the hook is for, by its project; the only course of a one-course deployment."""
    if len(every) == 1:
        return every[0]
    path = project_path(payload)
    return next((d for d in every if path is not None and d.owns(path)), None)


async def gitlab_webhook(request: web.Request) -> web.Response:
    every = request.app[GITLAB_DEPS]
    deps = every[0]  # the secret is the deployment's
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
    found = _course_deps(every, payload)
    if found is None:  # 2xx all the same: GitLab disables a hook that keeps failing
        log.info("gitlab hook %s for %s: no course has that project", kind, project_path(payload))
        return json_response({"ok": True, "changed": False})
    deps = found
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


def add_gitlab_routes(app: web.Application, *deps: GitLabHookDeps) -> None:
    """One `GitLabHookDeps` per course (a hook goes to the course owning its project)."""
    app[GITLAB_DEPS] = deps
    app.router.add_post("/gitlab/webhook", gitlab_webhook)
