"""Bookings: check, create, read, reschedule, cancel. One transaction each (the edge commits).

Every slot is validated by `availability.slots.is_bookable`, the function that lists slots.
Double bookings are refused by the database too: an exclusion constraint on PostgreSQL, and on
SQLite the write lock taken before reading (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from openbooking.availability import service as availability
from openbooking.availability.slots import local_instants
from openbooking.bookings import notify, render
from openbooking.bookings.rules import (
    BAD_CODE,
    BAD_PHONE,
    NO_NAME,
    NO_SERVICES,
    NOBODY_FREE,
    NOT_BOOKABLE,
    OVERLAP,
    TAKEN,
    Blacklisted,
    BookingError,
    NotAllowed,
)
from openbooking.catalog.repository import location_or_404
from openbooking.kit import phones
from openbooking.kit.body import text
from openbooking.kit.clock import now as clock_now
from openbooking.kit.clock import zone
from openbooking.kit.crypto import keyed_digest, same
from openbooking.kit.errors import InvalidParameter, NotFound
from openbooking.models import Client, Customer, Position, Record, RecordService, Service, Staff
from openbooking.models.customers import PURPOSE_VERIFY
from openbooking.models.records import MAX_RECORD_SECONDS, RECORD_ACTIVE, RECORD_CANCELLED
from openbooking.verification import service as verification

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.kit.envelope import Dialect
    from openbooking.models import Location
    from openbooking.sms.base import SmsMessage
    from openbooking.verification.service import Context

MAX_APPOINTMENTS = 10


@dataclass(slots=True)
class Appointment:
    id: int
    service_ids: list[int]
    staff_id: int
    start: datetime
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Created:
    answer: list[dict[str, Any]]  # [{id, record_id, record_hash}], as book_record answers
    notices: list[SmsMessage]  # to send once the booking is committed


@dataclass(slots=True)
class Planned:
    appointment: Appointment
    staff_id: int
    end: datetime
    services: list[tuple[Service, int]]  # with this member's length


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidParameter(name, "expected an integer")
    try:
        number = float(value)
    except ValueError:
        raise InvalidParameter(name, "expected an integer") from None
    if not number.is_integer() or not 0 <= number < 2**53:
        raise InvalidParameter(name, "expected a non-negative integer")
    return int(number)


def parse_moment(value: Any, name: str, location: Location) -> datetime:
    """An appointment's start: ISO 8601 as book_times gives it. Without an offset it is read in
    the location's zone, and a local time that is ambiguous (clock going back) is refused."""
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidParameter(name, "expected an ISO 8601 date-time")
    try:
        moment = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        raise InvalidParameter(name, "expected an ISO 8601 date-time") from None
    if not availability.FIRST_YEAR <= moment.year <= availability.LAST_YEAR:
        raise InvalidParameter(name, "the date is out of range")
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    instants = local_instants(moment, zone(location.timezone))
    if len(instants) != 1:
        problem = "that local time does not exist" if not instants else "send the UTC offset"
        raise InvalidParameter(name, f"{problem} (clock change)")
    return instants[0]


def parse_appointments(body: Any, location: Location) -> list[Appointment]:
    raw = body.get("appointments") if isinstance(body, dict) else body
    if not isinstance(raw, list) or not raw:
        raise InvalidParameter("appointments", "expected a non-empty list")
    if len(raw) > MAX_APPOINTMENTS:
        raise InvalidParameter("appointments", f"at most {MAX_APPOINTMENTS} in one request")
    result = []
    for index, item in enumerate(raw):
        where = f"appointments[{index}]"
        if not isinstance(item, dict):
            raise InvalidParameter(where, "expected an object")
        services = item.get("services", item.get("events", []))
        if not isinstance(services, list) or len(services) > 20:
            raise InvalidParameter(f"{where}.services", "expected a list of service ids")
        custom = item.get("custom_fields") or {}
        if not isinstance(custom, dict):
            raise InvalidParameter(f"{where}.custom_fields", "expected an object")
        result.append(
            Appointment(
                id=_int(item.get("id", index + 1), f"{where}.id"),
                service_ids=[_int(s, f"{where}.services") for s in services],
                staff_id=_int(item.get("staff_id", 0), f"{where}.staff_id"),
                start=parse_moment(item.get("datetime"), f"{where}.datetime", location),
                custom_fields=custom,
            )
        )
    return result


async def plan(
    session: AsyncSession,
    location: Location,
    appointments: Sequence[Appointment],
    *,
    ignore: Record | None = None,
) -> list[Planned]:
    """Validate every appointment with the availability engine, in order, each one also
    against the earlier ones of the same request; pick a member where `staff_id` is 0."""
    planned: list[Planned] = []
    for appointment in appointments:
        if not appointment.service_ids:
            raise BookingError(NO_SERVICES, appointment.id)
        services = await _services(session, location.id, appointment)
        day = appointment.start.astimezone(zone(location.timezone)).date()
        try:
            state = await availability.load(
                session, location.id, appointment.staff_id, appointment.service_ids, (day, day)
            )
        except NotFound:
            raise BookingError(TAKEN, appointment.id) from None
        for earlier in planned:
            state.busy.setdefault(earlier.staff_id, []).append(
                (earlier.appointment.start, earlier.end)
            )
        if ignore is not None:
            own = (ignore.starts_at, ignore.ends_at)
            state.busy[ignore.staff_id] = [
                i for i in state.busy.get(ignore.staff_id, []) if i != own
            ]
        chosen = next(
            (member for member in state.members if state.is_bookable(member, appointment.start)),
            None,
        )
        if chosen is None:
            raise BookingError(_refusal(appointment, state, planned), appointment.id)
        length = state.length(chosen)
        if length > MAX_RECORD_SECONDS:
            raise BookingError(TAKEN, appointment.id)
        lengths = chosen.lengths
        planned.append(
            Planned(
                appointment=appointment,
                staff_id=chosen.staff.id,
                end=appointment.start + timedelta(seconds=length),
                services=[(service, lengths[service.id]) for service in services],
            )
        )
    return planned


def _refusal(appointment: Appointment, state: Any, planned: list[Planned]) -> int:
    """Why no member fits: an earlier appointment of this request (437), the member (433), or
    nobody at all (436)."""
    if not appointment.staff_id:
        return NOBODY_FREE
    length = state.length(state.members[0]) if state.members else 0
    end = appointment.start + timedelta(seconds=length)
    clash = any(
        earlier.staff_id == appointment.staff_id
        and earlier.appointment.start < end
        and appointment.start < earlier.end
        for earlier in planned
    )
    return OVERLAP if clash else TAKEN


async def _services(
    session: AsyncSession, location_id: int, appointment: Appointment
) -> list[Service]:
    rows = {
        row.id: row
        for row in await session.scalars(
            select(Service).where(
                Service.id.in_(appointment.service_ids),
                Service.location_id == location_id,
                Service.deleted.is_(False),
                Service.active.is_(True),
            )
        )
    }
    if len(rows) != len(set(appointment.service_ids)):
        raise BookingError(NOT_BOOKABLE, appointment.id)
    return [rows[service_id] for service_id in dict.fromkeys(appointment.service_ids)]


async def check(session: AsyncSession, location_id: int, body: Any) -> None:
    """POST /book_check: everything book_record would check about the appointments."""
    location = await location_or_404(session, location_id)
    await plan(session, location, parse_appointments(body, location))


def _phone(location: Location, raw: Any) -> str:
    try:
        return phones.normalize(raw, location.country_code or None)
    except phones.PhoneError as exc:
        raise BookingError(
            BAD_PHONE, detail=f"The phone number has an invalid format: {exc}."
        ) from None


def _blacklisted(location: Location, phone: str) -> bool:
    for entry in location.phone_blacklist:
        try:
            if phones.normalize(entry, location.country_code or None) == phone:
                return True
        except phones.PhoneError:
            continue
    return False


def _hours(value: Any, name: str) -> int:
    hours = _int(value or 0, name)
    if hours > 24 * 30:
        raise InvalidParameter(name, "at most 720 hours")
    return hours


async def create(
    session: AsyncSession,
    ctx: Context,
    location_id: int,
    body: dict[str, Any],
    customer: Customer | None,
) -> Created:
    """POST /book_record: all appointments or none. A customer logged in with the same phone
    needs no SMS code (their phone was proven when they logged in)."""
    location = await location_or_404(session, location_id)
    phone = _phone(location, body.get("phone"))
    name = text(body, "fullname", max_length=255)
    if not name:
        raise BookingError(NO_NAME)
    email = text(body, "email", max_length=254)
    if location.booking_email_required and not email:
        raise InvalidParameter("email", "this location requires an e-mail address")
    if email and "@" not in email.strip("@"):
        raise InvalidParameter("email", "not an e-mail address")
    comment = text(body, "comment", max_length=1000, multiline=True)
    if location.booking_comment_required and not comment:
        raise InvalidParameter("comment", "this location requires a comment")
    if _blacklisted(location, phone):
        raise Blacklisted
    appointments = parse_appointments(body, location)
    sms, mail = (
        _hours(body.get("notify_by_sms"), "notify_by_sms"),
        _hours(body.get("notify_by_email"), "notify_by_email"),
    )
    custom = body.get("custom_fields") or {}
    if not isinstance(custom, dict):
        raise InvalidParameter("custom_fields", "expected an object")
    if location.phone_confirmation and not (customer is not None and customer.phone == phone):
        try:
            code = verification.parse_code(body.get("code"))
        except InvalidParameter:
            raise BookingError(BAD_CODE) from None
        await verification.check_code(
            session, ctx, [phone], code, PURPOSE_VERIFY, location_id=location.id
        )
    planned = await plan(session, location, appointments)
    client = await _client(session, location.id, phone, name, email)
    api_id = text(body, "api_id", max_length=64) or ""
    now = clock_now()
    answer, records = [], []
    for item in planned:
        record_hash = secrets.token_hex(16)
        record = Record(
            location_id=location.id,
            staff_id=item.staff_id,
            client_id=client.id,
            starts_at=item.appointment.start,
            ends_at=item.end,
            status=RECORD_ACTIVE,
            hash_digest=record_digest(ctx.key, record_hash),
            client_phone=phone,
            client_name=name,
            client_email=email or "",
            comment=comment or "",
            api_id=api_id,
            custom_fields={**custom, **item.appointment.custom_fields},
            master_requested=item.appointment.staff_id != 0,
            notify_by_sms=sms,
            notify_by_email=mail,
        )
        record.reminder_at = notify.reminder_at(record, location, now)
        session.add(record)
        records.append(record)
        await session.flush()
        session.add_all(
            RecordService(
                record_id=record.id,
                service_id=service.id,
                position=index,
                duration_seconds=length,
                cost=service.price_min,
            )
            for index, (service, length) in enumerate(item.services)
        )
        answer.append(
            {"id": item.appointment.id, "record_id": record.id, "record_hash": record_hash}
        )
    await session.flush()
    return Created(answer, notify.messages(notify.CONFIRMED, location, records))


def record_digest(key: bytes, record_hash: str) -> str:
    return keyed_digest(key, "record", record_hash)


async def _client(
    session: AsyncSession, location_id: int, phone: str, name: str, email: str | None
) -> Client:
    query = select(Client).where(Client.location_id == location_id, Client.phone == phone)
    client = await session.scalar(query)
    if client is None:
        client = Client(location_id=location_id, phone=phone, name=name, email=email or "")
        try:
            async with session.begin_nested():
                session.add(client)
        except IntegrityError:
            # A concurrent booking of the same new phone added the client first (PostgreSQL;
            # SQLite writers are serial): use theirs rather than refuse a free slot.
            client = await session.scalar(query)
            if client is None:
                raise
    client.name = name
    if email:
        client.email = email
    return client


async def find(
    session: AsyncSession,
    key: bytes,
    record_id: int,
    record_hash: str | None,
    customer: Customer | None,
    *,
    location_id: int | None = None,
    for_update: bool = False,
) -> Record:
    """A record reachable with its hash, or owned (same phone) by the logged-in customer."""
    query = select(Record).where(Record.id == record_id)
    if for_update:
        query = query.with_for_update()
    record = await session.scalar(query)
    if record is None or (location_id is not None and record.location_id != location_id):
        raise NotFound("Such an appointment does not exist.")
    by_hash = bool(record_hash) and same(record.hash_digest, record_digest(key, record_hash or ""))
    by_owner = customer is not None and customer.phone == record.client_phone
    if not (by_hash or by_owner):
        raise NotFound("Such an appointment does not exist.")
    return record


async def customer_records(session: AsyncSession, customer: Customer) -> Sequence[Record]:
    """All appointments made with the customer's phone, at any location, newest first."""
    return (
        await session.scalars(
            select(Record)
            .where(Record.client_phone == customer.phone)
            .order_by(Record.starts_at.desc())
        )
    ).all()


def _window_closed(record: Record, delay: int, now: datetime) -> bool:
    """Past visits, and visits closer than `delay` seconds, are no longer changed online."""
    return now >= record.starts_at - timedelta(seconds=delay)


async def cancel(session: AsyncSession, record: Record) -> list[SmsMessage]:
    """Cancel (a record already cancelled stays so); the cancellation SMS to send."""
    location = await location_or_404(session, record.location_id)
    now = clock_now()
    if record.status != RECORD_ACTIVE:
        return []
    if not location.allow_delete_record:
        raise NotAllowed(
            "It is not possible to cancel an appointment online. Please contact the administrator."
        )
    if _window_closed(record, location.allow_delete_record_delay_step, now):
        raise NotAllowed(
            "It is too late to cancel this appointment online. Please contact the administrator."
        )
    record.status = RECORD_CANCELLED
    record.reminder_at = None
    return notify.messages(notify.CANCELLED, location, [record])


async def reschedule(
    session: AsyncSession, record: Record, body: dict[str, Any]
) -> list[SmsMessage]:
    """PUT /book_record: the same member and services at a new time, re-validated; the
    confirmation SMS of the new time to send."""
    location = await location_or_404(session, record.location_id)
    now = clock_now()
    if record.status != RECORD_ACTIVE:
        raise NotAllowed("This appointment was cancelled.")
    if not location.allow_change_record:
        raise NotAllowed("Unable to reschedule online. Please contact the administrator.")
    if _window_closed(record, location.allow_change_record_delay_step, now):
        raise NotAllowed("It is too late to reschedule this appointment online.")
    start = parse_moment(body.get("datetime"), "datetime", location)
    services = (
        await session.scalars(
            select(RecordService.service_id)
            .where(RecordService.record_id == record.id)
            .order_by(RecordService.position)
        )
    ).all()
    appointment = Appointment(
        id=record.id, service_ids=list(services), staff_id=record.staff_id, start=start
    )
    (planned,) = await plan(session, location, [appointment], ignore=record)
    record.starts_at, record.ends_at = start, planned.end
    record.reminder_at, record.reminded_at = notify.reminder_at(record, location, now), None
    comment = text(body, "comment", max_length=1000, multiline=True)
    if comment is not None:
        record.comment = comment
    return notify.messages(notify.CONFIRMED, location, [record])


async def view(session: AsyncSession, record: Record, dialect: Dialect) -> dict[str, Any]:
    location = await location_or_404(session, record.location_id)
    staff = await session.get(Staff, record.staff_id)
    assert staff is not None
    position = await session.get(Position, staff.position_id) if staff.position_id else None
    links = await session.execute(
        select(RecordService, Service)
        .join(Service, Service.id == RecordService.service_id)
        .where(RecordService.record_id == record.id)
        .order_by(RecordService.position)
    )
    services = [(link, service) for link, service in links]
    return render.record(record, location, staff, position, services, dialect=dialect)
