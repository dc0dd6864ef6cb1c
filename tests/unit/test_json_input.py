"""`json_object`: how the routes read JSON bodies, and why deep nesting is refused before
the decoder sees it (CI once failed the fuzz test with "Failed to process unraisable
exception": a collection deep inside the decoder's recursion ran finalizers with no stack
left)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from idlbot.web.inputs import MAX_NESTING, BadInput, json_object, nested_at_most
from tests.support.finalizers import deep_collections


def nested(depth: int) -> bytes:
    """An object whose arrays and objects nest `depth` deep."""
    return b'{"a":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def test_nesting_up_to_the_limit_is_read_and_deeper_is_refused_by_name() -> None:
    assert json_object(nested(MAX_NESTING)) == {"a": json.loads(b"[" * 63 + b"]" * 63)}
    with pytest.raises(BadInput, match=f"nested more than {MAX_NESTING} deep"):
        json_object(nested(MAX_NESTING + 1))


@pytest.mark.parametrize(
    "body",
    [b"[" * 50_000, b'{"a":' * 10_000, b"[" * 10_000 + b"]" * 10_000, b"[" * 1000 + b"}" * 1000],
    ids=["open arrays", "open objects", "closed arrays", "mismatched"],
)
def test_deep_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(BadInput):
        json_object(body)


def test_brackets_inside_strings_and_escapes_do_not_count() -> None:
    text = '\\"[{' * 5_000 + "\n]}"
    body = json.dumps({"a": text, "b": "[" * 200, "c\\[": [[["x]"]]]}).encode()
    assert json_object(body)["a"] == text


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


def test_the_check_agrees_with_the_real_depth_on_random_json() -> None:
    rng = random.Random(13)
    leaves = ['s\\"[{', 1, "\n]}", None, True, "\u00e9]\\", []]

    def value(depth: int) -> Any:
        if depth == 0 or rng.random() < 0.2:
            return rng.choice(leaves)
        if rng.random() < 0.5:
            return [value(depth - 1) for _ in range(rng.randint(1, 3))]
        return {f'k{i}"[': value(depth - 1) for i in range(rng.randint(1, 3))}

    for _ in range(2000):
        v = value(rng.randint(0, 10))
        body = json.dumps(v, ensure_ascii=rng.random() < 0.5).encode()
        for limit in (0, 2, 5, 8):
            assert nested_at_most(body, limit) == (depth_of(v) <= limit), body


def test_finalizers_keep_their_stack_while_a_deep_body_is_refused() -> None:
    """With the decoder refusing `[[[[...` itself, 19 finalizers near its depth failed."""
    for body in (b"[" * 50_000, b'{"a":' * 50_000):
        with deep_collections() as failures, pytest.raises(BadInput):
            json_object(body)
        assert failures == []
