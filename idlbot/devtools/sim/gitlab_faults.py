"""Errors and fault switches of the GitLab simulator.

Error bodies are GitLab's: `{"message": ...}` for resources, `{"error": ...}` for params
and unknown routes. The rate limiter answers like Rack::Attack (text `Retry later`,
delta-seconds `Retry-After`, `RateLimit-*`) or like an application limit (JSON body),
because python-gitlab's retry loop reads exactly those headers.
"""

from __future__ import annotations

import math
import time
from email.utils import formatdate
from typing import Any

RACK_ATTACK_BODY = b"Retry later\n"
APP_LIMIT_BODY = {"message": {"error": "This endpoint has been requested too many times. Try again later."}}


class SimError(Exception):
    """An API error; the dispatcher renders `body` as JSON with `status`."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


def not_found(what: str = "") -> SimError:
    """`404 Project Not Found`, `404 Issue Not Found`, ... or plain `404 Not Found`."""
    return SimError(404, {"message": f"404 {what} Not Found" if what else "404 Not Found"})


def bad_param(message: str) -> SimError:
    """Grape parameter validation: `{"error": "title is missing"}`."""
    return SimError(400, {"error": message})


def unauthorized() -> SimError:
    return SimError(401, {"message": "401 Unauthorized"})


def forbidden() -> SimError:
    return SimError(403, {"message": "403 Forbidden"})


class TokenBucket:
    """`per_sec` refill, `burst` capacity; one bucket per token like the per-user throttle."""

    def __init__(self, per_sec: float, burst: int) -> None:
        self.per_sec = per_sec
        self.burst = max(burst, 1)
        self._level: dict[str, float] = {}
        self._stamp: dict[str, float] = {}
        self._observed: dict[str, int] = {}

    def take(self, key: str, now: float | None = None) -> float:
        """0.0 if allowed, else the seconds until the next request would be allowed."""
        now = time.monotonic() if now is None else now
        level = self._level.get(key, float(self.burst))
        level = min(float(self.burst), level + (now - self._stamp.get(key, now)) * self.per_sec)
        self._stamp[key] = now
        self._observed[key] = self._observed.get(key, 0) + 1
        if level >= 1.0:
            self._level[key] = level - 1.0
            return 0.0
        self._level[key] = level
        return (1.0 - level) / self.per_sec

    def headers(self, key: str, wait: float) -> dict[str, str]:
        """Rack::Attack's throttle headers; Retry-After is integer delta-seconds, never a date."""
        retry = max(1, math.ceil(wait))
        reset = int(time.time()) + retry
        per_minute = max(1, round(self.per_sec * 60))
        return {
            "Retry-After": str(retry),
            "RateLimit-Name": "throttle_authenticated_api",
            "RateLimit-Limit": str(per_minute),
            "RateLimit-Observed": str(self._observed.get(key, 0)),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(reset),
            "RateLimit-ResetTime": formatdate(reset, usegmt=True),
        }


def _server_error(status: int) -> SimError:
    reason = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    return SimError(status, {"message": f"{status} {reason.get(status, 'Error')}"})


class Faults:
    """The fault switches (`sim.faults`). All default to off."""

    def __init__(self) -> None:
        self._fail_left = 0
        self._fail_status = 500
        self._route_failures: dict[tuple[str, str], list[int]] = {}
        self.limiter: TokenBucket | None = None
        #: "rack_attack" (text body) or "application" (JSON body, per-endpoint limits)
        self.rate_limit_style = "rack_attack"
        #: seconds added before every /api/v4 response
        self.latency = 0.0

    def fail_next(self, n: int, status: int = 500) -> None:
        """The next `n` authenticated API requests answer `status` instead of being handled."""
        self._fail_left, self._fail_status = n, status

    def fail_route(self, method: str, route: str, n: int = 1, status: int = 503) -> None:
        """The next `n` requests to one route (a template like "/projects/:id/wikis/:slug")
        fail; other routes keep working, as when one GitLab backend (gitaly) is down."""
        self._route_failures[(method.upper(), route)] = [n, status]

    def take_failure(self, method: str = "", route: str | None = None) -> SimError | None:
        targeted = self._route_failures.get((method.upper(), route or ""))
        if targeted is not None and targeted[0] > 0:
            targeted[0] -= 1
            return _server_error(targeted[1])
        if self._fail_left <= 0:
            return None
        self._fail_left -= 1
        return _server_error(self._fail_status)

    def rate_limit(self, per_sec: float | None, burst: int = 10, *, style: str = "rack_attack") -> None:
        """Throttle each token to `per_sec` with `burst`; None turns the limiter off."""
        if style not in ("rack_attack", "application"):
            raise ValueError(f"unknown rate limit style {style!r}")
        self.limiter = None if per_sec is None else TokenBucket(per_sec, burst)
        self.rate_limit_style = style

    def clear(self) -> None:
        self._fail_left = 0
        self._route_failures.clear()
        self.limiter = None
        self.latency = 0.0
