"""Delivers the outbox to Mattermost: every post exactly once, whatever fails.

- Claimed rows are delivered per channel in order, channels in parallel (fan-out of
  personal DMs must not queue behind one slow channel).
- A refused connection, a timeout, a 5xx or a 429 is a durable retry: the row goes back
  to pending with `next_attempt_at` from capped exponential backoff, or later if the
  server asked (Retry-After / X-RateLimit-Reset). 400/403/404 are permanent: the row is
  marked failed with the error, which `/idl health` shows.
- A row claimed before (attempts > 1) may have reached the server even though we never
  heard back (crash, timeout, 5xx after the write), so the channel's recent posts are
  searched for its key first. The deterministic `pending_post_id` covers the 30 s in
  which the server itself drops a repeat.
- With several replicas, a claim lasts the outbox's `claim_ttl` and is renewed every
  quarter of it while the batch is being sent; a replica killed mid-batch stops renewing,
  and another replica's worker takes its rows over once they expire (and looks them up
  by key, as above).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import timedelta

from idlbot.adapters.mattermost.rest import DeliveryError, MattermostChat, classify
from idlbot.backoff import backoff_delay
from idlbot.clock import Clock
from idlbot.metrics import Metrics
from idlbot.storage.outbox import OutboxItem, SqlOutbox

log = logging.getLogger(__name__)

SEARCH_SLACK_MS = 120_000


NOT_SENT = ("429 ", "waiting for an earlier post", "connection: ConnectError")


def never_reached_server(last_error: str | None) -> bool:
    """A 429, a refused connection or waiting behind an earlier post means the post was
    certainly not created, so the lookup by key (one more request, under a rate limit
    at that) is skipped. A timeout or a 5xx may have created it: those are checked."""
    return last_error is not None and last_error.startswith(NOT_SENT)


def retry_delay(attempts: int, error: DeliveryError, *, base: float, cap: float) -> float:
    """Backoff after the n-th failed attempt, but never sooner than the server asked."""
    backoff = backoff_delay(max(0, attempts - 1), base=base, cap=cap)
    if error.retry_after is not None:
        return max(backoff, float(error.retry_after))
    return backoff


class OutboxWorker:
    def __init__(
        self,
        outbox: SqlOutbox,
        chat: MattermostChat,
        clock: Clock,
        metrics: Metrics,
        *,
        batch: int = 100,
        concurrency: int = 16,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        poll: float = 1.0,
    ) -> None:
        self._outbox = outbox
        self._chat = chat
        self._clock = clock
        self._metrics = metrics
        self._batch = batch
        self._limit = asyncio.Semaphore(concurrency)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.poll = poll
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    def wake(self) -> None:
        """Something was enqueued, or the server is back: look now, not at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                delivered = await self.run_once()
                failures = 0
            except Exception:
                failures += 1
                delay = backoff_delay(failures, base=self.backoff_base, cap=self.backoff_cap)
                log.exception("outbox pass failed; retrying in %.1f s", delay)
                await self._sleep(delay)
                continue
            if delivered == 0:
                await self._sleep(self.poll)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def run_once(self) -> int:
        """Claim what is due and try to deliver it; returns how many rows were tried."""
        items = await self._outbox.claim_due(self._clock.now(), limit=self._batch)
        if not items:
            return 0
        by_channel: dict[str, list[OutboxItem]] = defaultdict(list)
        for item in items:
            by_channel[item.channel_id or f"dm:{item.dm_user_id}"].append(item)
        sent: list[tuple[int, str]] = []
        renewer = self._renew_claims() if self._outbox.claim_ttl is not None else None
        try:
            await asyncio.gather(*(self._deliver_in_order(group, sent) for group in by_channel.values()))
        finally:
            if renewer is not None:
                renewer.cancel()
                await asyncio.gather(renewer, return_exceptions=True)
            # One transaction for the whole batch: a commit per post was the fan-out's cost.
            # Until it commits the rows stay "sending"; after a crash they are looked up by
            # key before any resend, so a late mark loses nothing and doubles nothing.
            if sent:
                await self._outbox.mark_sent_many(sent, now=self._clock.now())
        return len(items)

    def _renew_claims(self) -> asyncio.Task[None]:
        """Keep this batch's claims alive while it is sent (a batch may outlast one TTL)."""
        ttl = self._outbox.claim_ttl
        assert ttl is not None

        async def renew() -> None:
            while True:
                await asyncio.sleep(ttl.total_seconds() / 4)
                try:
                    await self._outbox.renew_claims(self._clock.now())
                except Exception:  # noqa: BLE001 - the next renewal tries again
                    log.warning("outbox: could not renew the claims of the batch in flight")

        return asyncio.get_running_loop().create_task(renew(), name="outbox claim renewal")

    async def _deliver_in_order(self, items: list[OutboxItem], sent: list[tuple[int, str]]) -> None:
        async with self._limit:
            for index, item in enumerate(items):
                post_id = await self.deliver(item)
                if post_id is not None:
                    sent.append((item.id, post_id))
                else:
                    # keep the channel's order: what follows waits for the failed one
                    for later in items[index + 1 :]:
                        await self._outbox.mark_retry(
                            later.id, next_attempt_at=self._clock.now(), error="waiting for an earlier post"
                        )
                    return

    async def deliver(self, item: OutboxItem) -> str | None:
        """Post one item; its post id, or None after recording the failure. The caller
        marks delivered items sent (in one transaction per batch)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            channel_id = item.channel_id or await self._chat.direct_channel(str(item.dm_user_id))
            post_id: str | None = None
            if item.attempts > 1 and not never_reached_server(item.last_error):
                since = int(item.created_at.timestamp() * 1000) - SEARCH_SLACK_MS
                post_id = await self._chat.find_post_with_key(channel_id, item.key, since)
                if post_id is not None:
                    log.info("outbox %s was already delivered as %s", item.key, post_id)
            if post_id is None:
                file_ids = [await self._chat.upload_file(channel_id, f) for f in item.files]
                post_id = await self._chat.create_post(
                    channel_id,
                    item.message,
                    key=item.key,
                    props=item.props,
                    root_id=item.root_id,
                    file_ids=file_ids,
                )
        except Exception as err:  # noqa: BLE001 - every failure becomes a retry decision
            error = classify(err)
            self._metrics.outbox_failures.labels(kind="retry" if error.retryable else "permanent").inc()
            await self._record_failure(item, error)
            log.warning(
                "delivery %s failed attempt=%d retryable=%s: %s",
                item.key,
                item.attempts,
                error.retryable,
                error,
                extra={"event": "delivery", "key": item.key, "outcome": "failed"},
            )
            return None
        self._metrics.outbox_delivered.inc()
        log.info(
            "delivery %s ok post=%s attempt=%d %.1fms",
            item.key,
            post_id,
            item.attempts,
            (loop.time() - started) * 1e3,
            extra={"event": "delivery", "key": item.key, "outcome": "sent"},
        )
        return post_id

    async def _record_failure(self, item: OutboxItem, error: DeliveryError) -> None:
        if error.retryable:
            delay = retry_delay(item.attempts, error, base=self.backoff_base, cap=self.backoff_cap)
            when = self._clock.now() + timedelta(seconds=delay)
            await self._outbox.mark_retry(item.id, next_attempt_at=when, error=str(error))
        else:
            await self._outbox.mark_failed(item.id, error=str(error))
