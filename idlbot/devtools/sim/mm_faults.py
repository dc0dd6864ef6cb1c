"""Errors and fault switches of the Mattermost simulator.

The faults reproduce what a bot meets in production: 5xx bursts, the server's GCRA rate
limiter (`app/ratelimit.go` + throttled), slow responses, websocket drops with and
without close frames, TCP resets and rejected websocket tokens.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from idlbot.devtools.sim.mm_ws import WsHub


class SimAppError(Exception):
    """A `model.AppError`; REST handlers raise it and the dispatcher renders the JSON body."""

    def __init__(self, status: int, error_id: str, message: str, detailed: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.detailed = detailed

    def body(self, request_id: str) -> dict[str, Any]:
        """The wire shape (`is_oauth` is gone since MM-57415).

        `detailed_error` is blanked like a server without EnableDeveloper; the detail stays
        readable in Python as `.detailed` for test diagnostics.
        """
        return {
            "id": self.error_id,
            "message": self.message,
            "detailed_error": "",
            "request_id": request_id,
            "status_code": self.status,
        }


class SimCommandFailed(SimAppError):
    """`MattermostSim.execute_command` failed; `message` is what the user would see."""


def session_expired() -> SimAppError:
    return SimAppError(
        401, "api.context.session_expired.app_error", "Invalid or expired session, please login again."
    )


def forbidden() -> SimAppError:
    return SimAppError(
        403, "api.context.permissions.app_error", "You do not have the appropriate permissions."
    )


def invalid_param(name: str) -> SimAppError:
    return SimAppError(
        400, "api.context.invalid_body_param.app_error", f"Invalid or missing {name} in request body."
    )


def invalid_url_param(name: str) -> SimAppError:
    return SimAppError(
        400, "api.context.invalid_url_param.app_error", f"Invalid or missing {name} parameter in request URL."
    )


class RateLimitResult:
    """What throttled's `RateLimitResult` carries into the X-RateLimit headers."""

    def __init__(self, limited: bool, limit: int, remaining: int, reset_after: float, retry_after: float):
        self.limited = limited
        self.limit = limit
        self.remaining = remaining
        self.reset_after = reset_after
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        """Header names as Go canonicalises them; seconds are ceil'ed like `setRateLimitHeaders`."""
        out = {
            "X-Ratelimit-Limit": str(self.limit),
            "X-Ratelimit-Remaining": str(self.remaining),
            "X-Ratelimit-Reset": str(math.ceil(self.reset_after)),
        }
        if self.retry_after >= 0:
            out["Retry-After"] = str(math.ceil(self.retry_after))
        return out


class GcraLimiter:
    """throttled's GCRA: limit = burst+1, tolerance = period*(burst+1), keyed by remote addr."""

    def __init__(self, per_sec: float, burst: int) -> None:
        self.period = 1.0 / per_sec
        self.limit = burst + 1
        self.tolerance = self.period * (burst + 1)
        self._tat: dict[str, float] = {}

    def check(self, key: str, now: float | None = None) -> RateLimitResult:
        now = time.monotonic() if now is None else now
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + self.period
        # tat - period*burst, not new_tat - tolerance: adding the period and taking it away
        # again rounds (0.1 + 1000 - 1000 > 0.1), and a fresh limiter refused its first
        # request at random; throttled counts in integer nanoseconds and never does
        allow_at = tat - (self.tolerance - self.period)
        retry_after = -1.0
        if now < allow_at:
            retry_after = allow_at - now
            ttl, limited = tat - now, True
        else:
            ttl, limited = new_tat - now, False
            self._tat[key] = new_tat
        nxt = self.tolerance - ttl
        remaining = int(nxt / self.period) if nxt > -self.period else 0
        return RateLimitResult(limited, self.limit, max(remaining, 0), ttl, retry_after)


class Faults:
    """The fault switches (`sim.faults`). All default to off."""

    def __init__(self, hub: WsHub) -> None:
        self._hub = hub
        self._fail_left = 0
        self._fail_status = 500
        self.limiter: GcraLimiter | None = None
        #: seconds added before every /api/v4 response
        self.latency = 0.0
        #: seconds added to one route only, keyed "GET /api/v4/users/{user_id}" (method and
        #: the OpenAPI template): one slow path, e.g. the lookups that make replies slow
        self.route_latency: dict[str, float] = {}
        self.ws_auth_rejected = False
        self._route_failures: dict[str, list[int]] = {}

    def fail_next(self, n: int, status: int = 500) -> None:
        """The next `n` /api/v4 requests (after auth/rate limit) get an AppError with `status`."""
        self._fail_left, self._fail_status = n, status

    def fail_route(self, route: str, n: int = 1, status: int = 500) -> None:
        """The next `n` requests to one route, keyed like `route_latency`
        ("GET /api/v4/users/{user_id}"), fail; the bot's other traffic (websocket, outbox,
        re-sync) keeps working and cannot use up the failures meant for that route."""
        self._route_failures[route] = [n, status]

    def take_failure(self, route: str = "") -> SimAppError | None:
        targeted = self._route_failures.get(route)
        if targeted is not None and targeted[0] > 0:
            targeted[0] -= 1
            return _injected(targeted[1])
        if self._fail_left <= 0:
            return None
        self._fail_left -= 1
        return _injected(self._fail_status)

    def set_rate_limit(self, per_sec: float | None, burst: int = 100) -> None:
        """Turn the server's rate limiter on (`RateLimitSettings.Enable`) or off with None."""
        self.limiter = None if per_sec is None else GcraLimiter(per_sec, burst)

    def reject_websocket_auth(self, on: bool) -> None:
        """Treat every websocket token as invalid (the socket is closed without a frame)."""
        self.ws_auth_rejected = on

    async def drop_websockets(self, code: int) -> None:
        """1000/1001: a proper close frame with that code; anything else (1006): abort, no frame."""
        await self._hub.drop_all(code)

    async def tcp_reset_websockets(self) -> None:
        """SO_LINGER 0 then close: the kernel sends RST, the client sees a connection reset."""
        self._hub.reset_all()


def _injected(status: int) -> SimAppError:
    return SimAppError(status, "sim.fault_injected.app_error", f"Injected fault ({status}).")
