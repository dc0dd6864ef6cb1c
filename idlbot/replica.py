"""Who this `idlbot run` process is among its replicas, and how long its leases last.

Several replicas may share one PostgreSQL behind a load balancer. Each signs its leases
and outbox claims with a replica id: `IDLBOT_REPLICA_ID` if set (a stable name, e.g. the
pod's: a replica restarted under the same id takes its own in-flight posts back at once),
else host-pid-random, unique per process. `IDLBOT_LEASE_TTL` (seconds, default 20) is
how long a lease or claim outlives its last renewal; tests shrink it.
"""

from __future__ import annotations

import math
import os
import secrets
import socket
from collections.abc import Mapping

from idlbot.domain.errors import OperatorError

DEFAULT_LEASE_TTL = 20.0
MAX_ID = 128  # the width of leases.holder and outbox.claimed_by


def replica_id(env: Mapping[str, str] | None = None) -> str:
    explicit = (os.environ if env is None else env).get("IDLBOT_REPLICA_ID", "").strip()
    if explicit:
        return explicit[:MAX_ID]
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"[-MAX_ID:]


def lease_ttl(env: Mapping[str, str] | None = None) -> float:
    text = (os.environ if env is None else env).get("IDLBOT_LEASE_TTL", "").strip()
    if not text:
        return DEFAULT_LEASE_TTL
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0.2):
        raise OperatorError(f"env IDLBOT_LEASE_TTL: {text!r} is not a number of seconds >= 0.2", code=2)
    return value
