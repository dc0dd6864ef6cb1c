"""POST /slurm/event: fails closed (401, nothing stored or posted), dedups by event id."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.adapters.slurm import mailprog
from idlbot.services.jobs import JobNotifier
from idlbot.storage.models_jobs import JobEventRow
from tests.support.finalizers import deep_collections

from .conftest import FakeCluster, dms, event, job
from .support import SECRET, serve


def signed(body: bytes, secret: str = SECRET, stamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if stamp is None else stamp
    return {
        "Content-Type": "application/json",
        mailprog.SIGNATURE_HEADER: mailprog.sign(secret.encode(), body),
        mailprog.TIMESTAMP_HEADER: str(stamp),
    }


def body_of(ev: dict[str, object], stamp: int | None = None) -> tuple[bytes, int]:
    stamp = int(time.time()) if stamp is None else stamp
    return json.dumps({**ev, "sent_at": stamp}, sort_keys=True).encode(), stamp


async def _events(db: AsyncEngine) -> int:
    async with db.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(JobEventRow))).scalar_one())


async def test_forged_signature_gets_401_and_posts_nothing(
    notifier: JobNotifier, fake: FakeCluster, db: AsyncEngine
) -> None:
    """Acceptance: a forged /slurm/event (bad HMAC) gets 401 and posts nothing."""
    fake.records = [job(5)]
    body, stamp = body_of(event(5))
    async with serve(notifier) as url, aiohttp.ClientSession() as http:
        forged = [
            signed(body, secret="guessed", stamp=stamp),  # wrong key
            {**signed(body, stamp=stamp), mailprog.TIMESTAMP_HEADER: str(stamp + 1)},  # header/body differ
            {"Content-Type": "application/json"},  # unsigned
        ]
        for headers in forged:
            async with http.post(url, data=body, headers=headers) as resp:
                assert resp.status == 401
        tampered = body.replace(b'"5"', b'"6"')
        async with http.post(url, data=tampered, headers=signed(body, stamp=stamp)) as resp:
            assert resp.status == 401
        old_body, old = body_of(event(5), stamp=int(time.time()) - 3600)  # a replay from an hour ago
        async with http.post(url, data=old_body, headers=signed(old_body, stamp=old)) as resp:
            assert resp.status == 401
    await notifier.idle()
    assert await dms(db) == [] and await _events(db) == 0


async def test_empty_secret_accepts_nothing(notifier: JobNotifier, db: AsyncEngine) -> None:
    body, stamp = body_of(event(5))
    async with (
        serve(notifier, secret="") as url,
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers=signed(body, secret="", stamp=stamp)) as resp,
    ):
        assert resp.status == 401
    assert await _events(db) == 0


async def test_signed_event_is_stored_before_2xx_and_a_resend_is_dropped(
    notifier: JobNotifier, fake: FakeCluster, db: AsyncEngine
) -> None:
    fake.records = [job(5)]
    body, stamp = body_of(event(5))
    async with serve(notifier) as url, aiohttp.ClientSession() as http:
        async with http.post(url, data=body, headers=signed(body, stamp=stamp)) as resp:
            assert resp.status == 202
            assert await _events(db) == 1  # stored when the answer came
        async with http.post(url, data=body, headers=signed(body, stamp=stamp)) as resp:
            assert resp.status == 200 and (await resp.json())["duplicate"] is True
        bad, stamp = body_of({"id": "x", "job_id": "nope"})
        async with http.post(url, data=bad, headers=signed(bad, stamp=stamp)) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"].startswith("event: no numeric job id")
    await notifier.idle()
    assert len(await dms(db)) == 1


async def test_a_signed_event_of_the_wrong_shape_gets_400_and_stores_nothing(
    notifier: JobNotifier, db: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """Each of these made a 500 (on SQLite or PostgreSQL) before the route read the body
    into a typed event: a lone surrogate in the cluster, NaN or Infinity (no JSON column
    takes them), a job id too long for `int`, a body nested too deep for the decoder."""
    stamp = int(time.time())
    bodies = [
        body_of(event(5, cluster="\ud800"), stamp)[0],
        body_of({**event(5), "job_id": float("inf"), "env": {}}, stamp)[0],
        body_of(event(5, env=float("nan")), stamp)[0],
        body_of({**event(5), "job_id": "9" * 5000, "env": {}}, stamp)[0],
        body_of({**event(5), "job_id": str(2**32), "env": {}}, stamp)[0],
        body_of({**event(5), "id": "ev\x00"}, stamp)[0],
        b'{"sent_at": %d, "x": ' % stamp + b"[" * 100_000,
    ]
    async with serve(notifier) as url, aiohttp.ClientSession() as http:
        for body in bodies:
            async with http.post(url, data=body, headers=signed(body, stamp=stamp)) as resp:
                assert resp.status in (400, 401), body[:80]  # 401: the deep body hides its sent_at
        headers = {**signed(bodies[0], stamp=stamp), mailprog.SIGNATURE_HEADER: "\udcff"}
        async with http.post(url, data=bodies[0], headers=_raw(headers)) as resp:
            assert resp.status == 401
    assert [r for r in caplog.records if r.exc_info] == []
    assert await _events(db) == 0


async def test_a_signed_body_nested_too_deep_gets_401_and_leaves_finalizers_their_stack(
    notifier: JobNotifier, db: AsyncEngine
) -> None:
    """The signature check read the body's sent_at with the decoder, which recursed once
    per `[`; a collection at the bottom of that ran finalizers that failed for want of
    stack (tests/support/finalizers.py). Now the route refuses it before decoding."""
    stamp = int(time.time())
    body = b'{"sent_at": %d, "x": ' % stamp + b"[" * 50_000
    async with serve(notifier) as url, aiohttp.ClientSession() as http:
        with deep_collections() as failures:
            async with http.post(url, data=body, headers=signed(body, stamp=stamp)) as resp:
                assert resp.status == 401
        assert failures == []
    assert await _events(db) == 0


def _raw(headers: dict[str, str]) -> dict[str, str]:
    """Headers whose lone surrogates go out as the raw non-UTF-8 bytes they stand for."""
    return {k: v.encode("utf-8", "surrogateescape").decode("latin-1") for k, v in headers.items()}
