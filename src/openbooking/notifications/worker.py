"""Delivering the outbox: e-mails and webhook calls, at least once, never twice at the same
time.

`deliver_due` leases the due rows (PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent workers
take different rows; SQLite: writers are serial), commits the lease, sends with no
transaction open, then marks each row sent or schedules its retry with exponential backoff.
A worker that dies between sending and marking leaves a lease that expires after
`LEASE_SECONDS`; the next run sends that row again, so receivers deduplicate on the payload's
`id` (or the `OpenBooking-Delivery` header). `openbooking notifications run` calls it once (cron) or
in a loop (`--forever`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from openbooking.kit.clock import now as clock_now
from openbooking.kit.db import unit_of_work
from openbooking.models.notifications import CHANNEL_EMAIL, CHANNEL_WEBHOOK
from openbooking.notifications import repository, senders, webhooks

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from openbooking.models import Location, OutboxMessage

logger = logging.getLogger("openbooking.notifications")

LEASE_SECONDS = 300  # longer than any send may take (SMTP and webhook timeouts are shorter)
BACKOFF_SECONDS = 30
BACKOFF_CAP_SECONDS = 6 * 3600
MAX_ATTEMPTS = 16  # about a day and a half of retries
CONCURRENCY = 8


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: 30 s, 1 min, 2 min, ... up to 6 h, +-10%."""
    seconds = min(BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.9, 1.1))  # noqa: S311 - jitter


@dataclass(slots=True)
class Delivery:
    mailer: senders.MailSender
    client: httpx.AsyncClient
    key: bytes
    email_from: str
    webhook_timeout: float = 10.0


@dataclass(slots=True)
class DeliveryRun:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    given_up: int = 0
    errors: list[str] = field(default_factory=list)


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession], delivery: Delivery, *, limit: int = 100
) -> DeliveryRun:
    now = clock_now()
    owner = secrets.token_hex(8)
    async with unit_of_work(sessionmaker) as work:
        session = await work.write()
        rows = await repository.claim(
            session, now, now + timedelta(seconds=LEASE_SECONDS), owner, limit
        )
        locations: dict[int, Location] = {}
        for row in rows:
            if row.location_id not in locations and (
                found := await repository.location(session, row.location_id)
            ):
                locations[row.location_id] = found
        await work.checkpoint()  # the lease is durable; nothing stays open while we send
        if not rows:
            return DeliveryRun()
        # One recipient's (or endpoint's) messages go in order, one at a time; different
        # recipients in parallel.
        queues: dict[tuple[str, str], list[OutboxMessage]] = {}
        for row in rows:
            queues.setdefault((row.channel, row.target), []).append(row)
        gate = asyncio.Semaphore(CONCURRENCY)
        errors: dict[int, str | None] = {}

        async def attempt(queue: list[OutboxMessage]) -> None:
            async with gate:
                for row in queue:
                    errors[row.id] = await _send(row, locations.get(row.location_id), delivery)

        await asyncio.gather(*(attempt(queue) for queue in queues.values()))
        outcomes = [errors[row.id] for row in rows]
        run = DeliveryRun(claimed=len(rows))
        session = await work.write()
        finished = clock_now()
        for row, error in zip(rows, outcomes, strict=True):
            if error is None:
                await repository.mark_sent(session, row.id, finished)
                run.sent += 1
                continue
            run.errors.append(error)
            gone = error.startswith(GONE)
            retry_at = None if gone or row.attempts >= MAX_ATTEMPTS else now + backoff(row.attempts)
            await repository.retry_later(
                session, row.id, owner, due_at=retry_at, error=error, now=finished
            )
            if retry_at is None:
                run.given_up += 1
            else:
                run.retrying += 1
            logger.warning(
                "%s %s (location %s, outbox %s, attempt %s) %s: %s",
                row.channel,
                row.event,
                row.location_id,
                row.id,
                row.attempts,
                "given up" if retry_at is None else "will be retried",
                error,
            )
    return run


GONE = "not wanted any more"


async def _send(row: OutboxMessage, location: Location | None, delivery: Delivery) -> str | None:
    """Send one row; None when it was delivered, else why not."""
    if location is None:
        return f"{GONE}: the location is gone"
    try:
        if row.channel == CHANNEL_EMAIL:
            message = senders.build(delivery.email_from, row.target, row.payload)
            await delivery.mailer.send(message)
        elif row.channel == CHANNEL_WEBHOOK:
            hook = _endpoint(location, row.target)
            if hook is None:
                return f"{GONE}: the endpoint is no longer in the business file"
            secret = webhooks.secret(
                delivery.key, location.id, row.target, int(hook.get("secret_version", 1))
            )
            await webhooks.deliver(
                delivery.client,
                row.target,
                secret,
                row.payload,
                delivery_id=row.id,
                now=clock_now(),
                seconds=delivery.webhook_timeout,
            )
        else:
            return f"{GONE}: unknown channel {row.channel!r}"
    except (senders.MailError, webhooks.WebhookError) as exc:
        return str(exc)
    return None


def _endpoint(location: Location, url: str) -> dict[str, Any] | None:
    return next((h for h in location.webhooks if isinstance(h, dict) and h.get("url") == url), None)


async def run_forever(
    sessionmaker: async_sessionmaker[AsyncSession],
    delivery: Delivery,
    *,
    poll_seconds: float = 5.0,
    limit: int = 100,
) -> None:
    """Deliver until cancelled: at once again while there is more, else every poll_seconds."""
    while True:
        try:
            run = await deliver_due(sessionmaker, delivery, limit=limit)
        except Exception:
            logger.exception("notice delivery failed; trying again in %s s", poll_seconds)
            run = DeliveryRun()
        if run.claimed < limit:
            await asyncio.sleep(poll_seconds)
