"""Bookings: check, create, read, reschedule, cancel. One transaction each (the edge commits).

Every slot is validated by `availability.slots.is_bookable`, the function that lists slots.
Double bookings are refused by the database too: an exclusion constraint on PostgreSQL (each
booking holding its members' advisory locks first, so that overlapping inserts queue instead of
deadlocking), and on SQLite the one writer (BEGIN IMMEDIATE) under which a booking planned from
an earlier read checks that its times are still free (`create`).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy.exc import DBAPIError

from openbooking.availability import service as availability
from openbooking.bookings import notify, render, repository
from openbooking.bookings.rules import (
    ALREADY_BOOKED,
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
from openbooking.catalog import service as catalog
from openbooking.kit import metrics, phones, sqlite_writer
from openbooking.kit.clock import instant, zone
from openbooking.kit.clock import now as clock_now
from openbooking.kit.crypto import keyed_digest, same
from openbooking.kit.db import bare_instance, fill, has_work, lost_race, utcnow
from openbooking.kit.errors import ApiError, InvalidParameter, NotFound
from openbooking.kit.wire import visible
from openbooking.models import Client, Customer, Record, RecordService, Service
from openbooking.models.business_users import ACTOR_CUSTOMER, RecordChange
from openbooking.models.customers import PURPOSE_VERIFY
from openbooking.models.records import MAX_RECORD_SECONDS, RECORD_ACTIVE, RECORD_CANCELLED
from openbooking.notifications import service as notifications
from openbooking.reviews import service as reviews
from openbooking.verification import service as verification

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.bookings.idempotency import Keeper
    from openbooking.bookings.schemas import BookRecordBody, CheckBody, RescheduleBody
    from openbooking.catalog.cache import Rows as CatalogRows
    from openbooking.kit.db import UnitOfWork
    from openbooking.kit.envelope import Dialect
    from openbooking.models import Location
    from openbooking.sms.base import SmsMessage
    from openbooking.verification.service import Context

logger = logging.getLogger("openbooking.bookings")
T = TypeVar("T")


@dataclass(slots=True)
class Appointment:
    id: int
    service_ids: list[int]
    staff_id: int
    start: datetime
    custom_fields: dict[str, Any]


@dataclass(slots=True)
class Created:
    answer: list[dict[str, Any]]  # [{id, record_id, record_hash}], as book_record answers
    notices: list[SmsMessage]  # to send once the booking is committed
    answer_stored: bool = False  # under the Idempotency-Key, in the booking's transaction


@dataclass(slots=True)
class Planned:
    appointment: Appointment
    staff_id: int
    end: datetime
    services: list[tuple[Service, int]]  # with this member's length


class CatalogMoved(Exception):
    """Catalog rows kept from an earlier booking would decide something before their version
    is confirmed, or met another version: the booking is prepared again on rows read now
    (`_prepared`)."""


def start_of(moment: datetime, location: Location, field: str) -> datetime:
    """An appointment's start in UTC: without an offset it is read in the location's zone, and
    a local time that is ambiguous (clock going back) is refused."""
    try:
        return instant(moment, zone(location.timezone), exact=True)
    except ValueError as exc:
        raise InvalidParameter(field, str(exc)) from None


def appointments_of(body: CheckBody | BookRecordBody, location: Location) -> list[Appointment]:
    return [
        Appointment(
            id=index + 1 if item.id is None else item.id,
            service_ids=item.service_ids,
            staff_id=item.staff_id,
            start=start_of(item.datetime, location, f"appointments[{index}].datetime"),
            custom_fields=item.custom_fields or {},
        )
        for index, item in enumerate(body.appointments)
    ]


async def plan(
    session: AsyncSession,
    location: Location,
    appointments: Sequence[Appointment],
    *,
    ignore: Record | None = None,
    override: bool = False,
    known: CatalogRows | None = None,
    unchecked: bool = False,
) -> list[Planned]:
    """Validate every appointment with the availability engine, in order, each one also
    against the earlier ones of the same request; pick a member where `staff_id` is 0. The
    services come from `known` when given (`catalog.booking_rows`), else they are read.

    With `unchecked`, `known` (and `location`, from it) were kept from an earlier booking and
    not checked against the catalog version: the first appointment's read of the busy time
    checks them (CatalogMoved when the version read then is not theirs, or when the first
    appointment is refused before its version is checked).

    With `override` (a manager squeezing someone in) the working hours, the slot grid, the
    notice and the horizon are ignored, but never another booking of the member."""
    planned: list[Planned] = []
    for appointment in appointments:
        try:
            if not appointment.service_ids:
                raise BookingError(NO_SERVICES, appointment.id)
            services = await _services(session, location.id, appointment, known)
            state = await availability.load(
                session,
                location.id,
                appointment.staff_id,
                appointment.service_ids,
                appointment.start,
            )
        except (BookingError, NotFound) as exc:
            if unchecked and not planned:  # refused before the rows were checked
                raise CatalogMoved from exc
            if isinstance(exc, BookingError):
                raise
            raise BookingError(TAKEN, appointment.id) from None
        if unchecked and known is not None and state.version != known.version:
            raise CatalogMoved
        for earlier in planned:
            state.busy.setdefault(earlier.staff_id, []).append(
                (earlier.appointment.start, earlier.end)
            )
        if ignore is not None:
            own = (ignore.starts_at, ignore.ends_at)
            state.busy[ignore.staff_id] = [
                i for i in state.busy.get(ignore.staff_id, []) if i != own
            ]

        def _clear_of_busy(member: Any, start: datetime, state: Any = state) -> bool:
            end = start + timedelta(seconds=state.length(member))
            return not any(s < end and start < e for s, e in state.busy.get(member.staff.id, ()))

        chosen = next(
            (
                member
                for member in state.members
                if (_clear_of_busy if override else state.is_bookable)(member, appointment.start)
            ),
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
    session: AsyncSession, location_id: int, appointment: Appointment, known: CatalogRows | None
) -> list[Service]:
    rows = (
        known.services(appointment.service_ids)
        if known is not None
        else await repository.active_services(session, location_id, appointment.service_ids)
    )
    if len(rows) != len(set(appointment.service_ids)):
        raise BookingError(NOT_BOOKABLE, appointment.id)
    return [rows[service_id] for service_id in dict.fromkeys(appointment.service_ids)]


async def check(session: AsyncSession, location_id: int, body: CheckBody) -> None:
    """POST /book_check: everything book_record would check about the appointments."""
    known = await catalog.booking_rows(session, location_id)
    location = known.location()
    await plan(session, location, appointments_of(body, location), known=known)


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


async def create(
    work: UnitOfWork,
    ctx: Context,
    location_id: int,
    body: BookRecordBody,
    customer: Customer | None,
    *,
    keep: Keeper | None = None,
) -> Created:
    """POST /book_record: all appointments or none, in one write transaction. A customer
    logged in with the same phone needs no SMS code (their phone was proven when they logged
    in).

    The appointments are planned from a read before the writer's turn, so that the one-writer
    section (SQLite) holds only the writes. On SQLite the turn then checks, one statement per
    appointment, that nothing took the planned times meanwhile, and plans again under the turn
    if something did (so the answer is the one a booking made wholly under the turn gives); on
    PostgreSQL the exclusion constraint refuses an overlap (433). Where the location confirms
    phones, the code is checked and the plan made under the turn, as a wrong code's attempt
    is a write that stays.

    On a SQLite file without a code to check, the whole write transaction (the re-check
    included) is one plain `sqlite3` transaction (`_write_at_once`, `kit.sqlite_writer`); on
    PostgreSQL it is a few statements on the session's asyncpg connection
    (`_write_at_once_pg`); the ORM path below serves the code's case, a planned time taken
    meanwhile on SQLite, and an in-memory SQLite database."""
    session = work.session
    prepared = await _prepared(session, location_id, body, customer)
    known, location, wanted, planned = (
        prepared.known,
        prepared.location,
        prepared.wanted,
        prepared.planned,
    )
    contact = phone, name, email, _ = prepared.contact
    if planned is None:  # the location confirms phones
        session = await work.write()
        await _confirm_phone(session, ctx, location, body.code, phone=phone, customer=customer)
        planned = await plan(session, location, wanted, known=known)
    else:
        writer = sqlite_writer.of(session.get_bind())
        if writer is not None or _on_postgresql(session):
            rows = _Rows.of(ctx, location, body, customer, planned, contact)
            notices = notifications.before_created(
                location, {item.staff_id: known.staff(item.staff_id) for item in planned}
            )
            written = await (
                _write_at_once_pg(work, rows, notices, keep)
                if writer is None
                else _write_at_once(work, writer, rows, notices, keep)
            )
            if written is not None:
                return _written(ctx, location, rows, written, kept=keep is not None)
            # SQLite: a planned time was taken meanwhile: plan again under the turn, as today.
            session = await work.write()
            planned = await plan(session, location, wanted, known=known)
        else:
            session = await work.write()
            if await _taken_meanwhile(session, planned):
                planned = await plan(session, location, wanted, known=known)
    client = await repository.client(session, location.id, phone, name, email)
    await repository.lock_members(session, [item.staff_id for item in planned])
    now = clock_now()
    answer, records = [], []
    for item in planned:
        record_hash = secrets.token_hex(16)
        record = _new_record(
            ctx,
            location,
            body,
            item,
            contact=contact,
            record_hash=record_hash,
            now=now,
        )
        record.client_id = client.id
        await _insert(session, record, item)
        repository.note_change(
            session,
            record.id,
            ACTOR_CUSTOMER,
            actor_id=customer.id if customer else None,
            action="created",
        )
        records.append(record)
        answer.append(
            {"id": item.appointment.id, "record_id": record.id, "record_hash": record_hash}
        )
    for record in records:
        logger.info(
            "booked record %s at location %s (member %s)", record.id, location.id, record.staff_id
        )
    metrics.count(metrics.BOOKINGS_CREATED, amount=len(records))
    await notifications.record_created(session, location, records)  # e-mails, webhooks (outbox)
    return _created(ctx, location, records, answer)


@dataclass(slots=True)
class _Prepared:
    known: CatalogRows
    location: Location
    contact: tuple[str, str, str | None, str | None]  # phone, name, e-mail, comment
    wanted: list[Appointment]
    planned: list[Planned] | None  # None: a code to check first, the plan made after it


async def _prepared(
    session: AsyncSession, location_id: int, body: BookRecordBody, customer: Customer | None
) -> _Prepared:
    """The booking's catalog rows, location, contact, appointments and plan.

    The rows an earlier booking of this process kept come first, unchecked: the plan's read of
    the busy time reads the catalog version too, which confirms them, so a booking makes no
    read of its own for the version. When that version is another, when the location confirms
    phones, or when the booking is refused before its rows are confirmed, it is all done
    again on rows checked against the catalog version (`catalog.booking_rows`)."""
    kept = catalog.kept_booking_rows(session, location_id)
    if kept is not None:
        with contextlib.suppress(CatalogMoved):
            return await _prepare(session, kept, body, customer, unchecked=True)
    known = await catalog.booking_rows(session, location_id)
    return await _prepare(session, known, body, customer, unchecked=False)


async def _prepare(
    session: AsyncSession,
    known: CatalogRows,
    body: BookRecordBody,
    customer: Customer | None,
    *,
    unchecked: bool,
) -> _Prepared:
    """`_prepared` on `known`; with `unchecked`, CatalogMoved for whatever the rows decide
    before the plan confirms them (a refusal, a code to check)."""
    location = known.location()
    try:
        contact = _contact(location, body)
        wanted = appointments_of(body, location)
    except ApiError as exc:
        if unchecked:
            raise CatalogMoved from exc
        raise
    if _code_needed(location, contact[0], customer):
        if unchecked:  # the code is checked, a write that stays, against rows read now
            raise CatalogMoved
        return _Prepared(known, location, contact, wanted, None)
    planned = await plan(session, location, wanted, known=known, unchecked=unchecked)
    return _Prepared(known, location, contact, wanted, planned)


def _created(
    ctx: Context, location: Location, records: list[Record], answer: list[dict[str, Any]]
) -> Created:
    links = {
        record.id: notify.manage_link(ctx.settings.public_url, record, str(item["record_hash"]))
        for record, item in zip(records, answer, strict=True)
    }
    return Created(answer, notify.messages(notify.CONFIRMED, location, records, links))


def _new_record(
    ctx: Context,
    location: Location,
    body: BookRecordBody,
    item: Planned,
    *,
    contact: tuple[str, str, str | None, str | None],
    record_hash: str,
    now: datetime,
    transient: bool = False,
) -> Record:
    """A planned appointment's record, not yet added (its client is set by the caller).
    `transient`: for the writers that bypass the ORM, built without the model's constructor
    (`_transient`)."""
    phone, name, email, comment = contact
    values = {
        "location_id": location.id,
        "staff_id": item.staff_id,
        "starts_at": item.appointment.start,
        "ends_at": item.end,
        "status": RECORD_ACTIVE,
        "hash_digest": record_digest(ctx.key, record_hash),
        "client_phone": phone,
        "client_name": name,
        "client_email": email or "",
        "comment": comment or "",
        "api_id": body.api_id or "",
        "custom_fields": {**(body.custom_fields or {}), **item.appointment.custom_fields},
        "master_requested": item.appointment.staff_id != 0,
        "notify_by_sms": body.notify_by_sms,
        "notify_by_email": body.notify_by_email,
    }
    record = _transient(Record, values) if transient else Record(**values)
    record.reminder_at = notify.reminder_at(record, location, now)
    return record


def _transient(model: type[T], values: dict[str, Any]) -> T:
    """A new instance of `model` holding `values`, never to be added to a session: the rows
    `_Rows` hands to SQLite's writer and PostgreSQL's driver statements, which read
    them from their `__dict__` (`kit.db.encoder`). The model's constructor sends each value through
    its attribute's events: 57-84 µs for a booking's client, record and record service,
    against 10-14 µs for this."""
    instance = bare_instance(model)
    instance.__dict__.update(values)
    return instance


@dataclass(slots=True)
class _Rows:
    """A booking's rows built before its write transaction (the same objects the ORM path
    adds, left transient), for the writers that bypass the ORM: SQLite's writer
    (`_write_at_once`) and PostgreSQL's session connection (`_write_at_once_pg`)."""

    planned: list[Planned]
    client: Client
    records: list[Record]
    links: list[list[RecordService]]
    hashes: list[str]
    actor_id: int | None

    @classmethod
    def of(  # noqa: PLR0917 - the parts of one booking, as create has them
        cls,
        ctx: Context,
        location: Location,
        body: BookRecordBody,
        customer: Customer | None,
        planned: list[Planned],
        contact: tuple[str, str, str | None, str | None],
    ) -> _Rows:
        now = clock_now()
        hashes = [secrets.token_hex(16) for _ in planned]
        phone, name, email, _ = contact
        return cls(
            planned=planned,
            client=_transient(
                Client,
                {"location_id": location.id, "phone": phone, "name": name, "email": email or ""},
            ),
            records=[
                _new_record(
                    ctx,
                    location,
                    body,
                    item,
                    contact=contact,
                    record_hash=record_hash,
                    now=now,
                    transient=True,
                )
                for item, record_hash in zip(planned, hashes, strict=True)
            ],
            links=[
                [
                    _transient(
                        RecordService,
                        {
                            "service_id": service.id,
                            "position": index,
                            "duration_seconds": length,
                            "cost": service.price_min,
                        },
                    )
                    for index, (service, length) in enumerate(item.services)
                ]
                for item in planned
            ],
            hashes=hashes,
            actor_id=customer.id if customer else None,
        )

    def stamped_client(self) -> Client:
        """The client row to upsert, stamped now (as `repository.client` stamps it)."""
        now = utcnow()
        fill(self.client, created_at=now, updated_at=now)
        return self.client

    def changes(self) -> list[RecordChange]:
        """The records' history entries (their ids known), as `repository.change` makes them."""
        return [
            _transient(
                RecordChange,
                {
                    "record_id": record.id,
                    "actor": ACTOR_CUSTOMER,
                    "actor_id": self.actor_id,
                    "action": "created",
                    "details": {},
                },
            )
            for record in self.records
        ]

    def with_services(self) -> list[tuple[Record, list[tuple[RecordService, Service]]]]:
        """Each record with its services, as the notices read them (ids known)."""
        return [
            (
                record,
                [(link, service) for link, (service, _) in zip(links, item.services, strict=True)],
            )
            for record, links, item in zip(self.records, self.links, self.planned, strict=True)
        ]

    def answer(self) -> list[dict[str, Any]]:
        return [
            {"id": item.appointment.id, "record_id": record.id, "record_hash": record_hash}
            for item, record, record_hash in zip(
                self.planned, self.records, self.hashes, strict=True
            )
        ]


def _written(
    ctx: Context, location: Location, rows: _Rows, answer: list[dict[str, Any]], *, kept: bool
) -> Created:
    for record in rows.records:
        logger.info(
            "booked record %s at location %s (member %s)", record.id, location.id, record.staff_id
        )
    metrics.count(metrics.BOOKINGS_CREATED, amount=len(rows.records))
    created = _created(ctx, location, rows.records, answer)
    created.answer_stored = kept
    return created


async def _write_at_once(
    work: UnitOfWork,
    writer: sqlite_writer.Writer,
    rows: _Rows,
    notices: notifications.CreatedNotices,
    keep: Keeper | None,
) -> list[dict[str, Any]] | None:
    """SQLite: the booking's whole write transaction as one plain `sqlite3` transaction
    (`kit.sqlite_writer`), its rows built first; None (nothing written) when a planned time
    was taken since the plan's read.

    Writes what the ORM path below writes, field for field: the re-check of the planned times,
    the client, the records with their services, their history, the outbox rows of
    `notifications.record_created` and, with an Idempotency-Key, the answer."""
    if has_work(work.session):  # the read ends (it wrote nothing)
        await work.checkpoint()

    def write(connection: sqlite3.Connection) -> list[dict[str, Any]] | None:
        for item in rows.planned:
            if repository.busy_within_now(
                connection, item.staff_id, item.appointment.start, item.end
            ):
                return None
        client_id = repository.upsert_client(connection, rows.stamped_client())
        for record, services in zip(rows.records, rows.links, strict=True):
            fill(record, client_id=client_id)
            repository.insert_record(connection, record, services)
        repository.insert_changes(connection, rows.changes())
        notifications.write_created(connection, notices, rows.with_services())
        answer = rows.answer()
        if keep is not None:
            keep(connection, answer)
        return answer

    return await writer.run(write)


def _on_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _write_at_once_pg(
    work: UnitOfWork, rows: _Rows, notices: notifications.CreatedNotices, keep: Keeper | None
) -> list[dict[str, Any]]:
    """PostgreSQL: the booking's write as one statement on the session's own asyncpg
    connection (`repository.write_booking_on`), which commits by itself, as SQLite's writer
    commits its transaction: the members' locks, the client, the records with their services
    (the exclusion constraint refusing an overlap: 433), the history, the outbox rows and,
    with an Idempotency-Key, the answer. The same rows as the ORM path, built by the same
    functions as SQLite's writer (`_Rows`). The records' ids are taken from their sequence
    first, as the notices and the answer name them: two round trips in all, where a
    transaction of these statements made nine. A booking of one record that neither names
    (no notice, no Idempotency-Key) is numbered by the statement itself: one round trip.

    The plan's reads wrote nothing and are done: a transaction they began (at an isolation
    other than READ COMMITTED) is committed first."""
    connection = await work.statement_connection()
    # One record that no notice and no stored answer names: the statement numbers it.
    numbered = (
        keep is None
        and len(rows.records) == 1
        and not notifications.hears_created(notices, rows.records[0])
    )
    sealed = None  # the answer kept for the Idempotency-Key, written with the booking
    if not numbered:
        ids = await repository.new_record_ids_on(connection, len(rows.records))
        for record, links, record_id in zip(rows.records, rows.links, ids, strict=True):
            fill(record, id=record_id)
            for link in links:
                fill(link, record_id=record_id)
        if keep is not None:
            sealed = keep.sealed(rows.answer())
    try:
        await repository.write_booking_on(
            connection,
            client=rows.stamped_client(),
            records=rows.records,
            links=rows.links,
            changes=rows.changes(),
            notices=lambda: notifications.created_insert_pg(notices, rows.with_services()),
            answer=sealed,
            numbered=numbered,
        )
    except DBAPIError as exc:  # another booking took a time since the plan read it
        if not lost_race(exc):
            raise
        raise BookingError(TAKEN, await _taken(work.session, rows.planned)) from None
    return rows.answer()


async def _taken(session: AsyncSession, planned: Sequence[Planned]) -> int:
    """Which appointment another booking took (its id): the first one busy now, or the first
    one when none is (PostgreSQL broke a deadlock with a booking not yet committed)."""
    if len(planned) > 1:
        for item in planned:
            if await repository.busy_within(
                session, item.staff_id, item.appointment.start, item.end
            ):
                return item.appointment.id
    return planned[0].appointment.id


class Contact(Protocol):
    """The customer's part of a booking body (book_record's, or a group-event seat's)."""

    @property
    def phone(self) -> Any: ...
    @property
    def fullname(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def comment(self) -> str | None: ...


def _contact(location: Location, body: Contact) -> tuple[str, str, str | None, str | None]:
    """The customer's phone, name, e-mail and comment, checked against the location's rules
    (431, 434, 435, required e-mail and comment)."""
    phone = _phone(location, body.phone)
    name = body.fullname
    if not name or not visible(name):  # a name of fillers and marks is no name
        raise BookingError(NO_NAME)
    email = body.email
    if location.booking_email_required and not email:
        raise InvalidParameter("email", "this location requires an e-mail address")
    if email and "@" not in email.strip("@"):
        raise InvalidParameter("email", "not an e-mail address")
    comment = body.comment
    if location.booking_comment_required and not comment:
        raise InvalidParameter("comment", "this location requires a comment")
    if _blacklisted(location, phone):
        raise Blacklisted
    return phone, name, email, comment


async def _confirm_phone(
    session: AsyncSession,
    ctx: Context,
    location: Location,
    raw_code: Any,
    *,
    phone: str,
    customer: Customer | None,
) -> None:
    """Where the location confirms phones, the SMS code (432); a customer logged in with the
    same phone needs none (their phone was proven when they logged in)."""
    if not _code_needed(location, phone, customer):
        return
    try:
        code = verification.parse_code(raw_code)
    except InvalidParameter:
        raise BookingError(BAD_CODE) from None
    await verification.check_code(
        session, ctx, [phone], code, PURPOSE_VERIFY, location_id=location.id
    )


def _code_needed(location: Location, phone: str, customer: Customer | None) -> bool:
    return location.phone_confirmation and (customer is None or customer.phone != phone)


async def _taken_meanwhile(session: AsyncSession, planned: Sequence[Planned]) -> bool:
    """SQLite, under the writer's turn: whether a planned time got busy since it was read
    (PostgreSQL's exclusion constraint answers that at the insert)."""
    if session.get_bind().dialect.name != "sqlite":
        return False
    for item in planned:
        if await repository.busy_within(session, item.staff_id, item.appointment.start, item.end):
            return True
    return False


async def insert(session: AsyncSession, record: Record, item: Planned) -> None:
    """Insert a planned record (the database refuses an overlap: 433)."""
    await repository.lock_members(session, [item.staff_id])
    await _insert(session, record, item)


async def client_of(
    session: AsyncSession, location_id: int, phone: str, name: str, email: str | None
) -> Any:
    """The location's client with `phone`, added if new."""
    return await repository.client(session, location_id, phone, name, email)


note_change = repository.note_change
reminder_at = notify.reminder_at
service_ids_of = repository.service_ids
record_details = repository.details
phone_of = _phone


async def _insert(session: AsyncSession, record: Record, item: Planned) -> None:
    try:
        await repository.add_record(session, record, item.services)
    except DBAPIError as exc:
        # Another booking took the slot between our check and our insert (PostgreSQL's
        # exclusion constraint, or a deadlock with it); SQLite cannot get here, its writers
        # are serial.
        if not lost_race(exc):
            raise
        raise BookingError(TAKEN, item.appointment.id) from None


def record_digest(key: bytes, record_hash: str) -> str:
    return keyed_digest(key, "record", record_hash)


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
    record = await repository.record(session, record_id, for_update=for_update)
    if record is None or (location_id is not None and record.location_id != location_id):
        raise NotFound("Such an appointment does not exist.")
    by_hash = bool(record_hash) and same(record.hash_digest, record_digest(key, record_hash or ""))
    by_owner = customer is not None and customer.phone == record.client_phone
    if not (by_hash or by_owner):
        raise NotFound("Such an appointment does not exist.")
    return record


async def customer_records(session: AsyncSession, customer: Customer) -> Sequence[Record]:
    """All appointments made with the customer's phone, at any location, newest first."""
    return await repository.records_of_phone(session, customer.phone)


def _local(moment: datetime, location: Location) -> str:
    """`2026-10-24T17:30:00-0500`, as the history of a record shows times."""
    return moment.astimezone(zone(location.timezone)).strftime("%Y-%m-%dT%H:%M:%S%z")


def _window_closed(record: Record, delay: int, now: datetime) -> bool:
    """Past visits, and visits closer than `delay` seconds, are no longer changed online."""
    return now >= record.starts_at - timedelta(seconds=delay)


async def cancel(session: AsyncSession, record: Record) -> list[SmsMessage]:
    """Cancel (a record already cancelled stays so); the cancellation SMS to send."""
    location = await catalog.location(session, record.location_id)
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
    await notifications.record_cancelled(session, location, record)
    repository.note_change(session, record.id, ACTOR_CUSTOMER, actor_id=None, action="cancelled")
    logger.info("cancelled record %s at location %s", record.id, location.id)
    metrics.BOOKINGS_CANCELLED.inc()
    return notify.messages(notify.CANCELLED, location, [record])


async def reschedule(
    session: AsyncSession, record: Record, body: RescheduleBody
) -> list[SmsMessage]:
    """PUT /book_record: the same member and services at a new time, re-validated; the
    confirmation SMS of the new time to send."""
    location = await catalog.location(session, record.location_id)
    now = clock_now()
    if record.status != RECORD_ACTIVE:
        raise NotAllowed("This appointment was cancelled.")
    if record.activity_id is not None:
        raise NotAllowed("Seats in a group event cannot be moved; cancel and book another.")
    if not location.allow_change_record:
        raise NotAllowed("Unable to reschedule online. Please contact the administrator.")
    if _window_closed(record, location.allow_change_record_delay_step, now):
        raise NotAllowed("It is too late to reschedule this appointment online.")
    start = start_of(body.datetime, location, "datetime")
    appointment = Appointment(
        id=record.id,
        service_ids=await repository.service_ids(session, record.id),
        staff_id=record.staff_id,
        start=start,
        custom_fields={},
    )
    (planned,) = await plan(session, location, [appointment], ignore=record)
    repository.note_change(
        session,
        record.id,
        ACTOR_CUSTOMER,
        actor_id=None,
        action="changed",
        details={"datetime": [_local(record.starts_at, location), _local(start, location)]},
    )
    record.starts_at, record.ends_at = start, planned.end
    record.reminder_at, record.reminded_at = notify.reminder_at(record, location, now), None
    if body.comment is not None:
        record.comment = body.comment
    await repository.lock_members(session, [record.staff_id])
    try:
        await session.flush()
    except DBAPIError as exc:
        if not lost_race(exc):
            raise
        raise BookingError(TAKEN) from None
    await notifications.record_changed(session, location, record)
    logger.info("rescheduled record %s at location %s", record.id, location.id)
    return notify.messages(notify.CONFIRMED, location, [record])


async def view(session: AsyncSession, record: Record, dialect: Dialect) -> dict[str, Any]:
    location = await catalog.location(session, record.location_id)
    staff, position, services = await repository.details(session, record)
    reviewed = (await reviews.totals(session, [staff.id])).get(staff.id)
    rating = reviews.combined(staff.rating, staff.votes_count, staff.comments_count, reviewed)
    return render.record(
        record, location, staff, position, services, dialect=dialect, rating=rating
    )


# Seats of group events (activities.service decides whether the seats are free) ---------------


class SeatBody(Contact, Protocol):
    """What a seat booking says about the customer (activities.schemas.BookBody)."""

    @property
    def code(self) -> Any: ...
    @property
    def api_id(self) -> str | None: ...
    @property
    def notify_by_sms(self) -> int: ...
    @property
    def notify_by_email(self) -> int: ...


@dataclass(slots=True)
class Seat:
    activity_id: int  # the session
    staff_id: int
    start: datetime
    end: datetime
    service: Service
    cost: float
    seats: int


async def book_seats(
    session: AsyncSession,
    ctx: Context,
    location: Location,
    body: SeatBody,
    *,
    customer: Customer | None,
    seat: Seat,
) -> Created:
    """A record of `seat.seats` seats in a group-event session, with the same checks of the
    customer as book_record (431, 432, 434, 435, e-mail and comment rules); one active record
    per phone and session (443). Answers `{id, hash}`."""
    phone, name, email, comment = _contact(location, body)
    await _confirm_phone(session, ctx, location, body.code, phone=phone, customer=customer)
    if await repository.seat_of_phone(session, seat.activity_id, phone):
        raise BookingError(ALREADY_BOOKED)
    client = await repository.client(session, location.id, phone, name, email)
    record_hash = secrets.token_hex(16)
    record = Record(
        location_id=location.id,
        staff_id=seat.staff_id,
        client_id=client.id,
        starts_at=seat.start,
        ends_at=seat.end,
        status=RECORD_ACTIVE,
        hash_digest=record_digest(ctx.key, record_hash),
        client_phone=phone,
        client_name=name,
        client_email=email or "",
        comment=comment or "",
        api_id=body.api_id or "",
        custom_fields={},
        master_requested=True,
        notify_by_sms=body.notify_by_sms,
        notify_by_email=body.notify_by_email,
        activity_id=seat.activity_id,
        clients_count=seat.seats,
    )
    record.reminder_at = notify.reminder_at(record, location, clock_now())
    length = int((seat.end - seat.start).total_seconds())
    try:
        await repository.add_seat_record(session, record, seat.service, length, seat.cost)
    except DBAPIError as exc:
        if not lost_race(exc):
            raise
        raise BookingError(ALREADY_BOOKED) from None  # the same phone, a moment earlier
    repository.note_change(
        session,
        record.id,
        ACTOR_CUSTOMER,
        actor_id=customer.id if customer else None,
        action="created",
    )
    await notifications.seat_booked(session, location, record)  # e-mails, webhooks (outbox)
    metrics.count(metrics.BOOKINGS_CREATED)
    return Created(
        [{"id": record.id, "hash": record_hash}],
        notify.messages(
            notify.CONFIRMED,
            location,
            [record],
            {record.id: notify.manage_link(ctx.settings.public_url, record, record_hash)},
        ),
    )
