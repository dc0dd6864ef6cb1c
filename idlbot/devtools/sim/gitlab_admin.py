"""System hooks of the GitLab simulator: `/api/v4/hooks`, for administrators only.

As `lib/api/system_hooks.rb`: every method needs an admin token (403 `{"message":"403
Forbidden"}` otherwise); a new hook has `push_events` off and `repository_update_events`
on (`SystemHook` attribute defaults), `tag_push_events` and `merge_requests_events` off.
The emitter sends them every project's push, tag push and repository update with
`X-Gitlab-Event: System Hook` (`Project#execute_hooks` → `SystemHooksService`).
"""

from __future__ import annotations

from typing import Any

from idlbot.devtools.sim.gitlab_faults import bad_param, forbidden, not_found
from idlbot.devtools.sim.gitlab_json import iso
from idlbot.devtools.sim.gitlab_rest import Ctx, Result, Route, apply_hook_params, compile_route, paginate
from idlbot.devtools.sim.gitlab_state import Hook, SimState

SYSTEM_HOOK_FLAGS = ("push_events", "tag_push_events", "merge_requests_events", "repository_update_events")
"""What a system hook can subscribe to (SystemHook::AVAILABLE_HOOKS, lib/api/system_hooks.rb)."""


def system_hook(h: Hook) -> dict[str, Any]:
    """Entities::Hook for GET/POST/PUT /hooks: no project, no token."""
    return {
        "id": h.id,
        "url": h.url,
        "name": None,
        "description": None,
        "created_at": iso(h.created_at),
        **{flag: h.events.get(flag, False) for flag in SYSTEM_HOOK_FLAGS},
        "enable_ssl_verification": h.enable_ssl_verification,
        "url_variables": [],
    }


DEFAULTS = {"push_events": False, "tag_push_events": False, "merge_requests_events": False,
            "repository_update_events": True}  # fmt: skip


class SystemHookEndpoints:
    def __init__(self, state: SimState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        table = [
            ("GET", "/hooks", self.list_hooks),
            ("POST", "/hooks", self.create_hook),
            ("GET", "/hooks/:hook_id", self.get_hook),
            ("PUT", "/hooks/:hook_id", self.update_hook),
            ("DELETE", "/hooks/:hook_id", self.delete_hook),
        ]
        return [compile_route(m, t, h) for m, t, h in table]

    @staticmethod
    def _admin(ctx: Ctx) -> None:
        if not ctx.user.admin:
            raise forbidden()

    def _hook(self, ctx: Ctx) -> Hook:
        self._admin(ctx)
        raw = ctx.params.get("hook_id", "")
        hook = self.state.system_hooks.get(int(raw)) if raw.isdigit() else None
        if hook is None:
            raise not_found("Hook")
        return hook

    async def list_hooks(self, ctx: Ctx) -> Result:
        self._admin(ctx)
        items, headers = paginate(ctx, sorted(self.state.system_hooks.values(), key=lambda h: h.id))
        return 200, [system_hook(h) for h in items], headers

    async def create_hook(self, ctx: Ctx) -> Result:
        self._admin(ctx)
        url = ctx.arg("url")
        if not url:
            raise bad_param("url is missing")
        hook = Hook(self.state.next_id("hook"), None, str(url), "", dict(DEFAULTS), self.state.now())
        apply_hook_params(ctx, hook, SYSTEM_HOOK_FLAGS)
        self.state.system_hooks[hook.id] = hook
        return 201, system_hook(hook), {}

    async def get_hook(self, ctx: Ctx) -> Result:
        return 200, system_hook(self._hook(ctx)), {}

    async def update_hook(self, ctx: Ctx) -> Result:
        hook = self._hook(ctx)
        if ctx.arg("url"):
            hook.url = str(ctx.arg("url"))
        apply_hook_params(ctx, hook, SYSTEM_HOOK_FLAGS)
        return 200, system_hook(hook), {}

    async def delete_hook(self, ctx: Ctx) -> Result:
        hook = self._hook(ctx)
        del self.state.system_hooks[hook.id]
        return 204, None, {}
