"""The review request: one SMS per visit, sent by `openbooking reviews run` (cron).

A visit is due once it has ended (not cancelled, not marked missed) at a location whose
`reviews.sms_request` is on; visits that ended more than `WINDOW` ago are left alone, so the
first run on an old database texts nobody about old visits. Each run claims the due visits by
inserting their review rows (`INSERT … ON CONFLICT DO NOTHING`, keyed by the record): runs that
overlap, on one machine or several, claim, and so text, each visit once. A failed send is
forgotten and tried again, with a new link, by the next run. Links are never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from openbooking.kit.clock import now as clock_now
from openbooking.kit.db import unit_of_work
from openbooking.reviews import repository
from openbooking.reviews.service import link_expiry, new_token, token_digest
from openbooking.sms.base import SmsDeliveryError, SmsMessage
from openbooking.verification.service import may_text

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from openbooking.models import Location
    from openbooking.sms.base import SmsSender

logger = logging.getLogger("openbooking.reviews")

WINDOW = timedelta(hours=24)
_TEXTS = {
    "en-US": "{place}: thank you for your visit! How was it? {link}",
    "ru-RU": "{place}: спасибо за визит! Оцените его: {link}",
}


def text(location: Location, link: str) -> str:
    template = _TEXTS.get(location.language, _TEXTS["en-US"])
    return template.format(place=location.title, link=link)


@dataclass(frozen=True, slots=True)
class ReviewRun:
    due: int  # claimed by this run
    sent: int
    failed: int  # forgotten, for the next run


async def send_review_requests(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: SmsSender,
    *,
    key: bytes,
    link: str,
    limit: int = 500,
) -> ReviewRun:
    """Claim the visits due a review request (at most `limit`), text each customer a link
    (`link` with `{token}` replaced), and forget the claims whose SMS failed."""
    now = clock_now()
    async with unit_of_work(sessionmaker) as work:
        candidates = [
            (record, location)
            for record, location in await repository.visits_due(
                await work.write(), now - WINDOW, now, limit
            )
            if may_text(location, record.client_phone)
        ]
        tokens = {record.id: new_token() for record, _ in candidates}
        claimed = await repository.claim(
            work.session,
            [
                {
                    "record_id": record.id,
                    "location_id": record.location_id,
                    "staff_id": record.staff_id,
                    "token_digest": token_digest(key, tokens[record.id]),
                    "requested_at": now,
                    "expires_at": link_expiry(now),
                    "text": "",
                    "tips_amount": 0.0,
                }
                for record, _ in candidates
            ],
        )
        await work.checkpoint()  # claimed for good; no transaction stays open while SMS go out
        sent = 0
        failed: list[int] = []
        for record, location in candidates:
            if record.id not in claimed:
                continue
            token = tokens[record.id]
            sms = SmsMessage(
                to=record.client_phone,
                text=text(location, link.replace("{token}", token)),
                location_id=location.id,
            )
            try:
                await sender.send(sms)
            except SmsDeliveryError as exc:
                logger.warning("review request not delivered (location %s): %s", location.id, exc)
                failed.append(record.id)
                await repository.unclaim(await work.write(), record.id, token_digest(key, token))
                await work.checkpoint()
            else:
                sent += 1
    return ReviewRun(len(claimed), sent, len(failed))
