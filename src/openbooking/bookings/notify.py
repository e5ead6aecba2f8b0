"""Booking SMS: a confirmation (also after a reschedule), a cancellation notice, and reminders.

Confirmations and cancellations are built inside the request, from the committed records, and
sent after the answer has gone out; a gateway failure is logged and does not undo the booking.
Reminders are due `notify_by_sms` hours before the visit (`Record.reminder_at`) and are sent by
`openbooking reminders run` (cron): each is claimed by one conditional UPDATE before it is sent,
so overlapping runs on any number of machines send it once; a failed send is put back for the
next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from starlette.background import BackgroundTask

from openbooking.bookings import repository
from openbooking.kit.clock import now as clock_now
from openbooking.kit.db import unit_of_work
from openbooking.notifications import mail
from openbooking.sms.base import SmsDeliveryError, SmsMessage
from openbooking.verification.service import may_text

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
    from starlette.responses import Response

    from openbooking.models import Location, Record
    from openbooking.sms.base import SmsSender

logger = logging.getLogger("openbooking.bookings")

CONFIRMED, CANCELLED, REMINDER = "confirmed", "cancelled", "reminder"
_TEXTS = {
    "en-US": {
        CONFIRMED: "{place}: your appointment on {when} is confirmed.",
        CANCELLED: "{place}: your appointment on {when} is cancelled.",
        REMINDER: "{place}: a reminder of your appointment on {when}.",
    },
    "ru-RU": {
        CONFIRMED: "{place}: ваша запись на {when} подтверждена.",
        CANCELLED: "{place}: ваша запись на {when} отменена.",
        REMINDER: "{place}: напоминаем о записи на {when}.",
    },
}
_MANAGE = {"en-US": " Change or cancel: {link}", "ru-RU": " Изменить или отменить: {link}"}
_SWITCH = {CONFIRMED: "sms_confirmation", CANCELLED: "sms_cancellation", REMINDER: "sms_reminders"}


def text(kind: str, location: Location, record: Record, link: str | None = None) -> str:
    language = location.language if location.language in _TEXTS else "en-US"
    said = _TEXTS[language][kind].format(place=location.title, when=mail.when(record, location))
    return said + _MANAGE[language].format(link=link) if link else said


def manage_link(base_url: str, record: Record, record_hash: str) -> str | None:
    """The widget's page of one booking (`/r/...`), where the customer reschedules or cancels;
    None without a public address to point at."""
    if not base_url:
        return None
    return f"{base_url.rstrip('/')}/r/{record.location_id}/{record.id}/{record_hash}"


def message(
    kind: str, location: Location, record: Record, link: str | None = None
) -> SmsMessage | None:
    """The SMS of `kind` about `record`, or None when the location sends none of that kind or
    the phone is not one it may text (the countries it sends codes to)."""
    if not getattr(location, _SWITCH[kind]) or not may_text(location, record.client_phone):
        return None
    return SmsMessage(
        to=record.client_phone, text=text(kind, location, record, link), location_id=location.id
    )


def messages(
    kind: str,
    location: Location,
    records: Iterable[Record],
    links: Mapping[int, str | None] | None = None,
) -> list[SmsMessage]:
    """The SMS of `kind` about each record; `links` adds a record's manage link."""
    links = links or {}
    return [
        sms
        for record in records
        if (sms := message(kind, location, record, links.get(record.id))) is not None
    ]


def reminder_at(record: Record, location: Location, now: datetime) -> datetime | None:
    """When the reminder the customer asked for is due; None when there is none to send (not
    asked for, switched off, or the visit is nearer than the lead time: the confirmation is the
    reminder then)."""
    if not record.notify_by_sms or not location.sms_reminders:
        return None
    due = record.starts_at - timedelta(hours=record.notify_by_sms)
    return due if due > now else None


async def send(sender: SmsSender, outgoing: Sequence[SmsMessage]) -> int:
    """Send each message; failures are logged (without the text or the phone). The count sent."""
    sent = 0
    for sms in outgoing:
        try:
            await sender.send(sms)
        except SmsDeliveryError as exc:
            logger.warning("booking SMS not delivered (location %s): %s", sms.location_id, exc)
        else:
            sent += 1
    return sent


class _Sending(BackgroundTask):
    """`send` as a response's background task. Starlette's `BackgroundTask` asks, for every
    task it is given, whether the function is a coroutine function: 1-2 % of a booking."""

    def __init__(self, sender: SmsSender, outgoing: Sequence[SmsMessage]) -> None:
        self.sender, self.outgoing = sender, outgoing

    async def __call__(self) -> None:
        await send(self.sender, self.outgoing)


def after(answer: Response, sender: SmsSender, outgoing: Sequence[SmsMessage]) -> Response:
    """`answer`, sending `outgoing` once it has gone out."""
    if outgoing:
        answer.background = _Sending(sender, outgoing)
    return answer


@dataclass(frozen=True, slots=True)
class ReminderRun:
    due: int  # claimed by this run
    sent: int
    failed: int  # put back for the next run


async def send_due_reminders(
    sessionmaker: async_sessionmaker[AsyncSession], sender: SmsSender, *, limit: int = 500
) -> ReminderRun:
    """Claim the reminders due now (at most `limit`), send them, put back the failed ones."""
    now = clock_now()
    async with unit_of_work(sessionmaker) as work:
        claimed = await repository.claim_due_reminders(await work.write(), now, limit)
        await work.checkpoint()
        if not claimed:
            return ReminderRun(0, 0, 0)
        rows = await repository.records_with_locations(work.session, claimed)
        await work.checkpoint()  # no transaction stays open while the SMS go out
        failed: list[Record] = []
        sent = 0
        for record, location in rows:
            sms = message(REMINDER, location, record) if record.starts_at > now else None
            if sms is None:
                continue
            if await send(sender, [sms]):
                sent += 1
            else:
                failed.append(record)
        for record in failed:
            await repository.unclaim_reminder(await work.write(), record.id, now)
            await work.checkpoint()
    return ReminderRun(len(claimed), sent, len(failed))
