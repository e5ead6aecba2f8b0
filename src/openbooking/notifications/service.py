"""Hearing about bookings: e-mails to customers and team members, signed webhooks, and
team members' calendar feeds.

The booking code calls one function per change (`record_created`, `record_changed`,
`record_cancelled`; group events call `seat_booked`) inside the transaction that makes the
change. Each writes outbox rows in that same transaction, so a notice exists exactly when the
change was committed; `notifications.worker` delivers them later
(`openbooking notifications run`), so a slow mail server or a receiver that is down never holds
up a booking.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from openbooking.kit.clock import now as clock_now
from openbooking.kit.crypto import keyed_digest, same
from openbooking.kit.errors import NotFound
from openbooking.models import CalendarToken, OutboxMessage
from openbooking.models.notifications import CHANNEL_EMAIL, CHANNEL_WEBHOOK
from openbooking.notifications import mail, render, repository

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.kit.db import Insert
    from openbooking.models import Location, Record, RecordService, Service, Staff

RECORD_CREATED = "record.created"
RECORD_CHANGED = "record.changed"
RECORD_CANCELLED = "record.cancelled"
EVENT_BOOKED = "event.booked"
EVENTS = (RECORD_CREATED, RECORD_CHANGED, RECORD_CANCELLED, EVENT_BOOKED)
REMINDER_EVENT = "email.reminder"

FEED_PAST = timedelta(days=7)  # a feed also shows the last week, so a visit just past stays
FEED_AHEAD = timedelta(days=400)
TOKEN_BYTES = 32


# Hooks into the booking path.


async def record_created(
    session: AsyncSession, location: Location, records: Sequence[Record]
) -> None:
    """New records (one booking may make several): the customer's confirmation e-mail (with
    an .ics) and reminder, the team member's notice, and the `record.created` webhooks."""
    await _record_notices(session, location, records, mail.CONFIRMED, RECORD_CREATED)


async def record_changed(session: AsyncSession, location: Location, record: Record) -> None:
    """A record moved (or otherwise changed): its calendar revision goes up, the reminder
    follows the new time, and the customer and the webhooks hear of it."""
    record.sequence += 1
    if record.notify_by_email:
        await repository.drop_pending(session, record.id, REMINDER_EVENT, clock_now(), "changed")
    await _record_notices(session, location, [record], mail.CHANGED, RECORD_CHANGED)


async def record_cancelled(session: AsyncSession, location: Location, record: Record) -> None:
    """A record was cancelled: its revision goes up, its reminder is dropped, and the customer
    and the webhooks hear of it."""
    record.sequence += 1
    if record.notify_by_email:
        await repository.drop_pending(session, record.id, REMINDER_EVENT, clock_now(), "cancelled")
    await _record_notices(session, location, [record], mail.CANCELLED, RECORD_CANCELLED)


async def _record_notices(
    session: AsyncSession, location: Location, records: Sequence[Record], kind: str, event: str
) -> None:
    """The outbox rows of one change; nothing is read when nobody is to hear of it."""
    now = clock_now()
    hooks = bool(endpoints(location, event))
    rows: list[OutboxMessage] = []
    for record in records:
        staff = await repository.staff(session, record.staff_id)
        if not _anyone_hears(location, record, staff, kind, hooks=hooks):
            continue
        services = (await repository.services_of(session, [record.id]))[record.id]
        rows += _notices(
            location, record, staff, services, kind=kind, event=event, now=now, hooks=hooks
        )
    if rows:
        await repository.add(session, rows)


def _anyone_hears(
    location: Location, record: Record, staff: Staff | None, kind: str, *, hooks: bool
) -> bool:
    return (
        hooks
        or _wants_mail(location, record, kind)
        or (kind != mail.CANCELLED and _wants_mail(location, record, mail.REMINDER))
        or _notify_staff(location, staff, kind)
    )


def _notify_staff(location: Location, staff: Staff | None, kind: str) -> bool:
    return (
        kind == mail.CONFIRMED
        and location.email_staff_notices
        and staff is not None
        and bool(staff.email)
    )


def _notices(
    location: Location,
    record: Record,
    staff: Staff | None,
    services: list[tuple[RecordService, Service]],
    *,
    kind: str,
    event: str,
    now: datetime,
    hooks: bool,
) -> list[OutboxMessage]:
    """The outbox rows about one record (its id known)."""
    rows = _customer_mails(kind, location, record, staff, services, now=now)
    if kind != mail.CANCELLED:
        rows += _reminder(location, record, staff, services, now)
    if staff is not None and _notify_staff(location, staff, kind):
        rows.append(
            _mail(mail.STAFF_NEW, location, record, staff, services, to=staff.email, now=now)
        )
    if hooks:
        body = {"record": render.record_payload(record, location, staff, services)}
        rows += _webhooks(location, event, body, now, record.id)
    return rows


# The same for SQLite's writer (`kit.sqlite_writer`): what the notices need is read first;
# the rows are built and written in the booking's own transaction, once the new records have
# their ids.


@dataclass(slots=True)
class CreatedNotices:
    """What `record_created` reads, read before the write transaction."""

    location: Location
    staff: dict[int, Staff | None]
    hooks: bool


def before_created(location: Location, staff: dict[int, Staff | None]) -> CreatedNotices:
    """What `write_created` needs of the location and of the records' members (by id)."""
    return CreatedNotices(location, staff, bool(endpoints(location, RECORD_CREATED)))


def write_created(
    connection: sqlite3.Connection,
    read: CreatedNotices,
    records: Sequence[tuple[Record, list[tuple[RecordService, Service]]]],
) -> None:
    """`record_created` on SQLite's writer connection: the same outbox rows, for records with
    their ids and services."""
    rows = created_rows(read, records)
    if rows:
        repository.insert_outbox(connection, rows)


def created_insert_pg(
    read: CreatedNotices,
    records: Sequence[tuple[Record, list[tuple[RecordService, Service]]]],
) -> Insert:
    """`record_created`'s outbox rows for a PostgreSQL statement that writes them with the
    records (`bookings.repository.write_booking_on`)."""
    return repository.outbox_insert_pg(created_rows(read, records))


def hears_created(read: CreatedNotices, record: Record) -> bool:
    """Whether `created_rows` writes a row about `record` (which each row names by its id)."""
    staff = read.staff.get(record.staff_id)
    return _anyone_hears(read.location, record, staff, mail.CONFIRMED, hooks=read.hooks)


def created_rows(
    read: CreatedNotices, records: Sequence[tuple[Record, list[tuple[RecordService, Service]]]]
) -> list[OutboxMessage]:
    """The outbox rows `record_created` writes, for records with their ids and services."""
    now = clock_now()
    rows: list[OutboxMessage] = []
    for record, services in records:
        staff = read.staff.get(record.staff_id)
        if hears_created(read, record):
            rows += _notices(
                read.location,
                record,
                staff,
                services,
                kind=mail.CONFIRMED,
                event=RECORD_CREATED,
                now=now,
                hooks=read.hooks,
            )
    return rows


async def seat_booked(session: AsyncSession, location: Location, record: Record) -> None:
    """Seats at a group-event session were booked: the customer's confirmation e-mail and
    reminder, the leader's notice, and the `event.booked` webhooks (the record carries
    `activity_id` and `clients_count`)."""
    await _record_notices(session, location, [record], mail.CONFIRMED, EVENT_BOOKED)


async def emit(
    session: AsyncSession,
    location: Location,
    event: str,
    data: dict[str, Any],
    record_id: int | None = None,
) -> None:
    """Queue webhook calls of `event` (one of EVENTS) to the location's endpoints."""
    await repository.add(session, _webhooks(location, event, data, clock_now(), record_id))


# Outbox rows.


_MAIL_SWITCH = {  # the location's switch for each kind of e-mail to the customer
    mail.CONFIRMED: "email_confirmation",
    mail.CHANGED: "email_confirmation",
    mail.CANCELLED: "email_cancellation",
    mail.REMINDER: "email_reminders",
}


def _wants_mail(location: Location, record: Record, kind: str) -> bool:
    return (
        bool(getattr(location, _MAIL_SWITCH[kind]))
        and bool(record.notify_by_email)
        and "@" in record.client_email
    )


def _customer_mails(
    kind: str,
    location: Location,
    record: Record,
    staff: Staff | None,
    services: list[tuple[RecordService, Service]],
    *,
    now: datetime,
) -> list[OutboxMessage]:
    if not _wants_mail(location, record, kind):
        return []
    return [_mail(kind, location, record, staff, services, to=record.client_email, now=now)]


def _reminder(
    location: Location,
    record: Record,
    staff: Staff | None,
    services: list[tuple[RecordService, Service]],
    now: datetime,
) -> list[OutboxMessage]:
    """The reminder `notify_by_email` hours before the visit; none when that is already past
    (the confirmation is the reminder then)."""
    if not _wants_mail(location, record, mail.REMINDER):
        return []
    due = record.starts_at - timedelta(hours=record.notify_by_email)
    if due <= now:
        return []
    row = _mail(mail.REMINDER, location, record, staff, services, to=record.client_email, now=now)
    row.event, row.due_at = REMINDER_EVENT, due
    return [row]


def _mail(
    kind: str,
    location: Location,
    record: Record,
    staff: Staff | None,
    services: list[tuple[RecordService, Service]],
    *,
    to: str,
    now: datetime,
) -> OutboxMessage:
    composed = mail.compose(kind, location, record, staff, [s for _, s in services])
    payload: dict[str, Any] = {
        "subject": composed.subject,
        "text": composed.text,
        "reply_to": location.email,
    }
    if kind in {mail.CONFIRMED, mail.CHANGED, mail.REMINDER}:
        payload["ics"] = customer_ics(location, record, staff, services, now).decode()
    return OutboxMessage(
        channel=CHANNEL_EMAIL,
        event=f"email.{kind}",
        location_id=location.id,
        record_id=record.id,
        target=to,
        payload=payload,
        due_at=now,
        created_at=now,
    )


def endpoints(location: Location, event: str) -> list[dict[str, Any]]:
    return [
        hook
        for hook in location.webhooks
        if isinstance(hook, dict) and event in hook.get("events", EVENTS)
    ]


def _webhooks(
    location: Location, event: str, data: dict[str, Any], now: datetime, record_id: int | None
) -> list[OutboxMessage]:
    hooks = endpoints(location, event)
    if not hooks:
        return []
    body = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": event,
        "created": render.utc(now),
        "location_id": location.id,
        "data": data,
    }
    return [
        OutboxMessage(
            channel=CHANNEL_WEBHOOK,
            event=event,
            location_id=location.id,
            record_id=record_id,
            target=str(hook["url"]),
            payload=body,
            due_at=now,
            created_at=now,
        )
        for hook in hooks
    ]


async def webhooks_of(session: AsyncSession, location_id: int) -> list[dict[str, Any]]:
    location = await repository.location(session, location_id)
    if location is None:
        raise NotFound(f"No location {location_id}.")
    return [hook for hook in location.webhooks if isinstance(hook, dict)]


# Calendars.


def customer_ics(
    location: Location,
    record: Record,
    staff: Staff | None,
    services: list[tuple[RecordService, Service]],
    now: datetime,
) -> bytes:
    """The customer's one-event calendar file (attached to the confirmation)."""
    titles = ", ".join(service.title for _, service in services)
    summary = f"{location.title}: {titles}" if titles else location.title
    description = f"{staff.name}" if staff is not None else ""
    item = render.event(record, location, summary, description, now)
    return render.calendar(location.title, [item], method="PUBLISH")


async def record_ics(session: AsyncSession, record: Record) -> bytes:
    location = await repository.location(session, record.location_id)
    assert location is not None
    staff = await repository.staff(session, record.staff_id)
    services = (await repository.services_of(session, [record.id]))[record.id]
    return customer_ics(location, record, staff, services, record.updated_at)


def calendar_digest(key: bytes, token: str) -> str:
    return keyed_digest(key, "calendar", token)


async def issue_calendar(session: AsyncSession, key: bytes, location_id: int, staff_id: int) -> str:
    """A new feed token of a team member (earlier ones stay valid until revoked); only its
    keyed digest is stored."""
    staff = await repository.staff(session, staff_id)
    if staff is None or staff.location_id != location_id or staff.deleted:
        raise NotFound(f"No team member {staff_id} at location {location_id}.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await repository.add_calendar_token(
        session,
        CalendarToken(
            location_id=location_id,
            staff_id=staff_id,
            digest=calendar_digest(key, token),
            created_at=clock_now(),
        ),
    )
    return token


async def revoke_calendar(session: AsyncSession, location_id: int, staff_id: int) -> int:
    """Revoke every feed token of the member; their calendars get 404 from then on."""
    return await repository.revoke_calendar_tokens(session, location_id, staff_id, clock_now())


async def calendar_tokens(session: AsyncSession) -> Sequence[CalendarToken]:
    return await repository.calendar_tokens(session)


async def feed(session: AsyncSession, key: bytes, token: str) -> bytes:
    """The member's appointments from a week ago on, cancelled ones as STATUS:CANCELLED."""
    digest = calendar_digest(key, token)
    found = await repository.calendar_token(session, digest)
    if found is None or not same(found.digest, digest):
        raise NotFound("No such calendar.")
    location = await repository.location(session, found.location_id)
    staff = await repository.staff(session, found.staff_id)
    if location is None or staff is None or staff.deleted:
        raise NotFound("No such calendar.")
    now = clock_now()
    records = await repository.staff_records(session, staff.id, now - FEED_PAST, now + FEED_AHEAD)
    details = await repository.services_of(session, [record.id for record in records])
    events = []
    for record in records:
        titles = ", ".join(service.title for _, service in details[record.id])
        summary = f"{titles}: {record.client_name}" if titles else record.client_name
        lines = [record.client_name]
        if location.calendar_phones and record.client_phone:
            lines.append(record.client_phone)
        if record.comment:
            lines.append(record.comment)
        events.append(render.event(record, location, summary, "\n".join(lines), record.updated_at))
    return render.calendar(f"{staff.name} ({location.title})", events)
