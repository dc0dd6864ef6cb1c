"""The replica id and the lease TTL from the environment."""

from __future__ import annotations

import os

import pytest

from idlbot.domain.errors import OperatorError
from idlbot.replica import DEFAULT_LEASE_TTL, lease_ttl, replica_id


def test_the_id_is_the_env_or_unique_per_process() -> None:
    assert replica_id({"IDLBOT_REPLICA_ID": " pod-1 "}) == "pod-1"
    first, second = replica_id({}), replica_id({})
    assert first != second and f"-{os.getpid()}-" in first  # host-pid-random


def test_the_lease_ttl_defaults_to_20_s_and_refuses_nonsense() -> None:
    assert lease_ttl({}) == DEFAULT_LEASE_TTL == 20.0
    assert lease_ttl({"IDLBOT_LEASE_TTL": "2.5"}) == 2.5
    for bad in ("x", "0", "-3", "nan", "inf"):
        with pytest.raises(OperatorError, match="IDLBOT_LEASE_TTL") as err:
            lease_ttl({"IDLBOT_LEASE_TTL": bad})
        assert err.value.code == 2
