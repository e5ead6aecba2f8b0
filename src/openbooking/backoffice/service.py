"""The business side's rules: who may see and change what, and records made and changed by
staff through the same availability rule and the same database-enforced no-double-booking as
online bookings (bookings.service.plan and insert).

Roles: an owner or administrator may do everything at their locations; a team member sees the
team and the services, and only their own appointments and schedule. A location the user has no
part in is 403 whatever is asked of it (so nothing tells whether it exists).
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy.exc import DBAPIError

from openbooking.activities import render as activities_render
from openbooking.activities import service as activities
from openbooking.availability.slots import DaySchedule, resolve_day
from openbooking.backoffice import render, repository
from openbooking.bookings import service as bookings
from openbooking.bookings.rules import TAKEN, BookingError
from openbooking.catalog import service as catalog
from openbooking.kit.clock import instant, zone
from openbooking.kit.clock import now as clock_now
from openbooking.kit.db import lost_race
from openbooking.kit.errors import ApiError, Forbidden, InvalidParameter, NotFound
from openbooking.kit.wire import visible
from openbooking.models import Record
from openbooking.models.business_users import ACTOR_CUSTOMER, ACTOR_USER
from openbooking.models.records import RECORD_ACTIVE, RECORD_CANCELLED
from openbooking.notifications import service as notifications

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.backoffice.accounts import Principal
    from openbooking.backoffice.schemas import (
        ActivityBody,
        ClientsQuery,
        RecordBody,
        RecordsQuery,
        ScheduleDayBody,
    )
    from openbooking.kit.envelope import Dialect
    from openbooking.models import Location

logger = logging.getLogger("openbooking.backoffice")
ATTENDANCE = {"confirmed": 2, "came": 1, "waiting": 0, "no-show": -1, "no_show": -1, "noshow": -1}
MAX_SCHEDULE_DAYS = 400
DAY_SECONDS = 86400


class StrandedBookings(ApiError):
    """A schedule change that would leave bookings outside the working hours."""

    status_code = 409
    default_message = (
        "The new schedule leaves bookings outside the working hours; move or cancel them first."
    )

    def __init__(self, stranded: list[dict[str, Any]]) -> None:
        super().__init__(
            errors=[
                {"code": 409, "message": f"record {item['id']} at {item['datetime']}", **item}
                for item in stranded
            ]
        )


class ManagersOnly(Forbidden):
    default_message: ClassVar[str] = "Only an owner or administrator may do this."


def require_location(principal: Principal, location_id: int) -> None:
    if location_id not in principal.location_ids:
        raise Forbidden("No access to this location.")


def _require_manager(principal: Principal) -> None:
    if not principal.manager:
        raise ManagersOnly


def _require_own_member(principal: Principal, staff_id: int | None) -> None:
    """A team member acts only on their own member."""
    if not principal.manager and staff_id != principal.staff_id:
        raise Forbidden("A team member sees only their own appointments and schedule.")


def attendance_of(value: object) -> int:
    if isinstance(value, bool):
        raise InvalidParameter("attendance", "expected -1, 0, 1 or 2")
    if isinstance(value, int) and value in (-1, 0, 1, 2):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ATTENDANCE:
            return ATTENDANCE[text]
        if text.lstrip("-").isdigit() and int(text) in (-1, 0, 1, 2):
            return int(text)
    raise InvalidParameter(
        "attendance", "expected -1, 0, 1, 2 or came, no-show, confirmed, waiting"
    )


def _day_start(day: date, location: Location) -> datetime:
    return _wall(day, 0, location)


def _wall(day: date, seconds: int, location: Location) -> datetime:
    """The instant of a wall-clock time (seconds from local midnight) on `day`."""
    local = datetime.combine(day, time()) + timedelta(seconds=seconds)
    return instant(local, zone(location.timezone), exact=False)


# Records ---------------------------------------------------------------------------------------


async def _views(
    session: AsyncSession,
    location: Location,
    rows: Sequence[Record],
    dialect: Dialect,
    *,
    with_history: bool = False,
) -> list[dict[str, Any]]:
    ids = [row.id for row in rows]
    staff = await repository.staff_by_ids(session, list({row.staff_id for row in rows}))
    positions = await repository.positions(session, location.id)
    services = await repository.record_services(session, ids)
    creators = await repository.creators(session, ids)
    client_ids = [row.client_id for row in rows if row.client_id is not None]
    visits = await repository.visit_counts(session, client_ids)
    views = []
    for row in rows:
        member = staff[row.staff_id]
        position = positions.get(member.position_id) if member.position_id else None
        client_view = None
        if row.client_id is not None:
            client = await repository.client(session, location.id, row.client_id)
            if client is not None:
                client_view = render.record_client(client, visits.get(client.id, 0), dialect)
        view = render.record(
            row,
            location,
            member,
            position,
            services.get(row.id, []),
            client_view,
            creators.get(row.id, 0),
        )
        if with_history:
            changes = await repository.history(session, row.id)
            names = await _actor_names(session, row, changes)
            view["history"] = [render.change(change, location, names) for change in changes]
        views.append(view)
    return views


async def _actor_names(
    session: AsyncSession, record: Record, changes: Sequence[Any]
) -> dict[tuple[str, int], str]:
    names: dict[tuple[str, int], str] = {}
    for change in changes:
        if change.actor == ACTOR_USER and change.actor_id is not None:
            users = {user.id: user for user in await repository.users(session)}
            for user_id, user in users.items():
                names[(ACTOR_USER, user_id)] = user.name or user.email
            break
    for change in changes:
        if change.actor == ACTOR_CUSTOMER:
            names[(ACTOR_CUSTOMER, change.actor_id or 0)] = record.client_name
    return names


async def list_records(
    session: AsyncSession,
    principal: Principal,
    location_id: int,
    query: RecordsQuery,
    dialect: Dialect,
) -> tuple[list[dict[str, Any]], int]:
    require_location(principal, location_id)
    staff_id = query.staff_id
    if not principal.manager:
        if staff_id not in (None, 0, principal.staff_id):
            _require_own_member(principal, staff_id)
        staff_id = principal.staff_id
    location = await catalog.location(session, location_id)
    filters: dict[str, Any] = {
        "staff_id": staff_id,
        "client_id": query.client_id,
        "activity_id": query.activity_id,
    }
    if query.start_date is not None:
        filters["starts_from"] = _day_start(query.start_date, location)
    if query.end_date is not None:
        filters["starts_before"] = _day_start(query.end_date + timedelta(days=1), location)
    if query.c_start_date is not None:
        filters["created_from"] = _day_start(query.c_start_date, location)
    if query.c_end_date is not None:
        filters["created_before"] = _day_start(query.c_end_date + timedelta(days=1), location)
    if query.changed_after is not None:
        moment = query.changed_after
        filters["changed_after"] = (
            moment if moment.tzinfo else instant(moment, zone(location.timezone), exact=False)
        )
    rows, total = await repository.records(
        session,
        location_id,
        filters=filters,
        offset=(query.page - 1) * query.count,
        limit=query.count,
    )
    return await _views(session, location, rows, dialect), total


async def _record(
    session: AsyncSession,
    principal: Principal,
    location_id: int,
    record_id: int,
    *,
    for_update: bool = False,
) -> Record:
    require_location(principal, location_id)
    record = await repository.record(session, record_id, for_update=for_update)
    if record is None or record.location_id != location_id:
        raise NotFound("Such an appointment does not exist.")
    _require_own_member(principal, record.staff_id)
    return record


async def get_record(
    session: AsyncSession, principal: Principal, location_id: int, record_id: int, dialect: Dialect
) -> dict[str, Any]:
    record = await _record(session, principal, location_id, record_id)
    location = await catalog.location(session, location_id)
    (view,) = await _views(session, location, [record], dialect, with_history=True)
    view["notifications"] = render.notices(
        record, location, await repository.outbox_of(session, record.id)
    )
    return view


def _service_ids(body: RecordBody) -> list[int] | None:
    if body.services is None:
        return None
    return [item.id for item in body.services]


def _override(principal: Principal, body: RecordBody) -> bool:
    if body.save_if_busy:
        _require_manager(principal)
    return body.save_if_busy


async def create_record(  # noqa: PLR0917 - the endpoint's inputs, each distinct
    session: AsyncSession,
    key: bytes,
    principal: Principal,
    location_id: int,
    body: RecordBody,
    dialect: Dialect,
) -> dict[str, Any]:
    """A walk-in or phone booking: the online rules, or with `save_if_busy` (owners and
    administrators) anywhere the member has no other booking."""
    require_location(principal, location_id)
    if not body.staff_id:
        raise InvalidParameter("staff_id", "is required")
    _require_own_member(principal, body.staff_id)
    override = _override(principal, body)
    service_ids = _service_ids(body)
    if not service_ids:
        raise InvalidParameter("services", "at least one service is required")
    if body.datetime is None:
        raise InvalidParameter("datetime", "is required")
    client = body.client
    if client is None or not client.phone:
        raise InvalidParameter("client.phone", "is required")
    if not client.name or not visible(client.name):
        raise InvalidParameter("client.name", "is required")
    location = await catalog.location(session, location_id)
    start = bookings.start_of(body.datetime, location, "datetime")
    phone = bookings.phone_of(location, client.phone)
    wanted = bookings.Appointment(
        id=1, service_ids=service_ids, staff_id=body.staff_id, start=start, custom_fields={}
    )
    (planned,) = await bookings.plan(session, location, [wanted], override=override)
    row = await bookings.client_of(session, location.id, phone, client.name, client.email)
    record = Record(
        location_id=location.id,
        staff_id=planned.staff_id,
        client_id=row.id,
        starts_at=start,
        ends_at=planned.end,
        status=RECORD_ACTIVE,
        hash_digest=bookings.record_digest(key, secrets.token_hex(16)),
        client_phone=phone,
        client_name=client.name,
        client_email=client.email or "",
        comment=body.comment or "",
        api_id=body.api_id or "",
        custom_fields=body.custom_fields or {},
        master_requested=True,
        online=False,
        attendance=0 if body.attendance is None else attendance_of(body.attendance),
    )
    await bookings.insert(session, record, planned)
    bookings.note_change(
        session,
        record.id,
        ACTOR_USER,
        actor_id=principal.id,
        action="created",
        details={"override": True} if override else {},
    )
    await notifications.record_created(session, location, [record])  # e-mails, webhooks (outbox)
    if override:
        logger.warning(
            "business user %s booked record %s at location %s outside the online rules",
            principal.id,
            record.id,
            location.id,
        )
    logger.info("business user %s booked record %s", principal.id, record.id)
    await session.flush()
    await session.refresh(record)
    (view,) = await _views(session, location, [record], dialect)
    return view


async def update_record(  # noqa: PLR0912, PLR0915, PLR0917 - one field after another
    session: AsyncSession,
    principal: Principal,
    location_id: int,
    record_id: int,
    body: RecordBody,
    dialect: Dialect,
) -> dict[str, Any]:
    """Move, change services or member, comment, attendance, client details; what is left out
    stays. A move is checked like a new booking (the record itself aside)."""
    record = await _record(session, principal, location_id, record_id, for_update=True)
    if record.status != RECORD_ACTIVE:
        raise Forbidden("This appointment was cancelled.")
    location = await catalog.location(session, location_id)
    changes: dict[str, Any] = {}
    staff_id = body.staff_id or record.staff_id
    _require_own_member(principal, staff_id)
    override = _override(principal, body)
    start = record.starts_at
    if body.datetime is not None:
        start = bookings.start_of(body.datetime, location, "datetime")
    current = await bookings.service_ids_of(session, record.id)
    service_ids = _service_ids(body) or current
    if staff_id != record.staff_id or start != record.starts_at or service_ids != current:
        wanted = bookings.Appointment(
            id=record.id, service_ids=service_ids, staff_id=staff_id, start=start, custom_fields={}
        )
        (planned,) = await bookings.plan(
            session, location, [wanted], ignore=record, override=override
        )
        if start != record.starts_at:
            changes["datetime"] = [
                render.stamp(record.starts_at, location),
                render.stamp(start, location),
            ]
        if staff_id != record.staff_id:
            changes["staff_id"] = [record.staff_id, staff_id]
        if service_ids != current:
            changes["services"] = [current, service_ids]
            await repository.replace_services(session, record.id, planned.services)
        if override:
            changes["override"] = True
            logger.warning(
                "business user %s moved record %s outside the online rules",
                principal.id,
                record.id,
            )
        record.staff_id, record.starts_at, record.ends_at = staff_id, start, planned.end
        record.reminder_at = bookings.reminder_at(record, location, clock_now())
        record.reminded_at = None
    if body.comment is not None and body.comment != record.comment:
        changes["comment"] = [record.comment, body.comment]
        record.comment = body.comment
    if body.attendance is not None:
        attendance = attendance_of(body.attendance)
        if attendance != record.attendance:
            changes["attendance"] = [record.attendance, attendance]
            record.attendance = attendance
    if body.api_id is not None and body.api_id != record.api_id:
        changes["api_id"] = [record.api_id, body.api_id]
        record.api_id = body.api_id
    if body.client is not None:
        await _change_client(session, location, record, body, changes)
    if changes:
        bookings.note_change(
            session, record.id, ACTOR_USER, actor_id=principal.id, action="changed", details=changes
        )
        record.updated_at = clock_now()
        await notifications.record_changed(session, location, record)
    try:
        await session.flush()
    except DBAPIError as exc:
        if not lost_race(exc):
            raise
        raise BookingError(TAKEN) from None
    logger.info("business user %s changed record %s", principal.id, record.id)
    await session.refresh(record)
    (view,) = await _views(session, location, [record], dialect)
    return view


async def _change_client(
    session: AsyncSession,
    location: Location,
    record: Record,
    body: RecordBody,
    changes: dict[str, Any],
) -> None:
    client = body.client
    assert client is not None
    phone = bookings.phone_of(location, client.phone) if client.phone else record.client_phone
    name = client.name if client.name and visible(client.name) else record.client_name
    email = client.email if client.email is not None else record.client_email
    if (phone, name, email) == (record.client_phone, record.client_name, record.client_email):
        return
    row = await bookings.client_of(session, location.id, phone, name, email)
    changes["client"] = {"phone": phone != record.client_phone, "name": name, "email": email}
    record.client_id, record.client_phone = row.id, phone
    record.client_name, record.client_email = name, email


async def delete_record(
    session: AsyncSession, principal: Principal, location_id: int, record_id: int
) -> dict[str, Any]:
    """Cancel (the location's rules for customers cancelling online do not apply)."""
    record = await _record(session, principal, location_id, record_id, for_update=True)
    if record.status == RECORD_ACTIVE:
        record.status = RECORD_CANCELLED
        record.reminder_at = None
        bookings.note_change(
            session, record.id, ACTOR_USER, actor_id=principal.id, action="cancelled"
        )
        location = await catalog.location(session, location_id)
        await notifications.record_cancelled(session, location, record)
        logger.info("business user %s cancelled record %s", principal.id, record.id)
    return {"id": record.id, "deleted": True}


# Group-event sessions --------------------------------------------------------------------------


async def _session_location(
    session: AsyncSession, principal: Principal, location_id: int
) -> Location:
    require_location(principal, location_id)
    return await catalog.location(session, location_id)


async def get_activity(
    session: AsyncSession, principal: Principal, location_id: int, activity_id: int
) -> dict[str, Any]:
    """A session; a team member sees only the sessions they lead."""
    location = await _session_location(session, principal, location_id)
    listed = await activities.one(session, location, activity_id)
    _require_own_member(principal, listed.found.session.staff_id)
    return render.activity(activities_render.activity(listed, location))


async def _plan(
    session: AsyncSession,
    principal: Principal,
    location: Location,
    body: ActivityBody,
    current: activities.Listed | None,
) -> activities.Plan:
    if current is None:
        for name in ("date", "service_id", "staff_id", "capacity"):
            if getattr(body, name) is None:
                raise InvalidParameter(name, "required")
    old = current.found if current is not None else None
    service_id = body.service_id or (old.service.id if old else 0)
    found = {row.id: row for row in await repository.services(session, location.id)}
    chosen = found.get(service_id)
    if chosen is None:
        raise InvalidParameter("service_id", "no such service at this location")
    staff_id = body.staff_id or (old.session.staff_id if old else 0)
    member = (await repository.staff_by_ids(session, [staff_id])).get(staff_id)
    if member is None or member.deleted or member.location_id != location.id:
        raise InvalidParameter("staff_id", "no such team member at this location")
    if body.date is not None:
        start = bookings.start_of(body.date, location, "date")
    else:
        start = old.session.starts_at if old else clock_now()
    if start <= clock_now():
        raise InvalidParameter("date", "a session starts in the future")
    length = body.length or (
        int((old.session.ends_at - old.session.starts_at).total_seconds())
        if old and body.service_id is None
        else chosen.duration_seconds
    )
    capacity = body.capacity or (old.session.capacity if old else 1)
    resource_ids = await _resources(session, location, body, current)
    end = start + timedelta(seconds=length)
    if body.force:
        logger.warning(
            "business user %s places a session of member %s without the hours check",
            principal.id,
            staff_id,
        )
    elif not await _within_hours(session, location, staff_id, start, end):
        raise InvalidParameter("date", "outside the leader's working hours (see `force`)")
    return activities.Plan(chosen, staff_id, start, length, capacity, resource_ids)


async def _resources(
    session: AsyncSession,
    location: Location,
    body: ActivityBody,
    current: activities.Listed | None,
) -> list[int]:
    if body.resource_instance_ids is None:
        return list(current.found.event.resource_ids) if current else []
    known = await activities.resource_ids(session, location.id)
    unknown = [r for r in body.resource_instance_ids if r not in known]
    if unknown:
        raise InvalidParameter("resource_instance_ids", f"unknown resource {unknown[0]}")
    return list(body.resource_instance_ids)


async def _within_hours(
    session: AsyncSession, location: Location, staff_id: int, start: datetime, end: datetime
) -> bool:
    """The session lies within one working interval of its leader's day (the same schedule the
    availability of appointments reads)."""
    day = start.astimezone(zone(location.timezone)).date()
    working = (await _working(session, staff_id, [day]))[day]
    return any(
        _wall(day, lo, location) <= start and end <= _wall(day, hi, location) for lo, hi in working
    )


async def create_activity(
    session: AsyncSession, principal: Principal, location_id: int, body: ActivityBody
) -> dict[str, Any]:
    """A one-off session, for owners and administrators."""
    location = await _session_location(session, principal, location_id)
    _require_manager(principal)
    plan = await _plan(session, principal, location, body, None)
    session_id = await activities.create_session(session, location, plan)
    logger.info("business user %s made session %s", principal.id, session_id)
    shown = await activities.one(session, location, session_id)
    return render.activity(activities_render.activity(shown, location))


async def update_activity(
    session: AsyncSession,
    principal: Principal,
    location_id: int,
    activity_id: int,
    body: ActivityBody,
) -> dict[str, Any]:
    location = await _session_location(session, principal, location_id)
    _require_manager(principal)
    listed = await activities.one(session, location, activity_id, for_update=True)
    activities.own_only(listed)
    plan = await _plan(session, principal, location, body, listed)
    await activities.update_session(session, listed, plan)
    logger.info("business user %s changed session %s", principal.id, activity_id)
    shown = await activities.one(session, location, activity_id)
    return render.activity(activities_render.activity(shown, location))


async def delete_activity(
    session: AsyncSession, principal: Principal, location_id: int, activity_id: int
) -> None:
    """Cancel an empty session; one with booked seats is refused (409, with their number)."""
    location = await _session_location(session, principal, location_id)
    _require_manager(principal)
    listed = await activities.one(session, location, activity_id, for_update=True)
    await activities.delete_session(session, listed)
    logger.info("business user %s cancelled session %s", principal.id, activity_id)


# Team, catalog, locations ----------------------------------------------------------------------


async def staff(
    session: AsyncSession, principal: Principal, location_id: int, staff_id: int | None = None
) -> list[dict[str, Any]]:
    require_location(principal, location_id)
    await catalog.location(session, location_id)
    rows = list(await repository.staff(session, location_id))
    if staff_id is not None:
        rows = [row for row in rows if row.id == staff_id]
        if not rows:
            raise NotFound("Team member not found.")
    positions = await repository.positions(session, location_id)
    services = {row.id: row for row in await repository.services(session, location_id)}
    links = await repository.staff_links(session, location_id)
    users = {user.staff_id: user.id for user in await repository.users(session) if user.staff_id}
    return [
        render.staff(
            row,
            positions.get(row.position_id) if row.position_id else None,
            [link for link in links if link.staff_id == row.id],
            services,
            users.get(row.id, 0),
        )
        for row in rows
    ]


async def services(
    session: AsyncSession, principal: Principal, location_id: int, service_id: int | None = None
) -> list[dict[str, Any]]:
    require_location(principal, location_id)
    await catalog.location(session, location_id)
    rows = list(await repository.services(session, location_id))
    if service_id is not None:
        rows = [row for row in rows if row.id == service_id]
        if not rows:
            raise NotFound("Service not found.")
    links = await repository.staff_links(session, location_id)
    return [
        render.service(row, [link for link in links if link.service_id == row.id]) for row in rows
    ]


# Clients ---------------------------------------------------------------------------------------


async def clients(
    session: AsyncSession,
    principal: Principal,
    location_id: int,
    query: ClientsQuery,
    dialect: Dialect,
) -> tuple[list[dict[str, Any]], int]:
    require_location(principal, location_id)
    _require_manager(principal)
    await catalog.location(session, location_id)
    term = query.phone or query.fullname or ""
    rows, total = await repository.clients(
        session, location_id, term, (query.page - 1) * query.count, query.count
    )
    visits = await repository.visit_counts(session, [row.id for row in rows])
    return [render.client(row, visits.get(row.id, 0), dialect) for row in rows], total


async def client(
    session: AsyncSession, principal: Principal, location_id: int, client_id: int, dialect: Dialect
) -> dict[str, Any]:
    require_location(principal, location_id)
    _require_manager(principal)
    row = await repository.client(session, location_id, client_id)
    if row is None:
        raise NotFound("Client not found.")
    visits = await repository.visit_counts(session, [row.id])
    return render.client(row, visits.get(row.id, 0), dialect)


# Schedules -------------------------------------------------------------------------------------


async def _member(
    session: AsyncSession, principal: Principal, location_id: int, staff_id: int
) -> Location:
    require_location(principal, location_id)
    _require_own_member(principal, staff_id)
    location = await catalog.location(session, location_id)
    member = (await repository.staff_by_ids(session, [staff_id])).get(staff_id)
    if member is None or member.deleted or member.location_id != location_id:
        raise NotFound("Team member not found.")
    return location


def _span(first: date, last: date) -> list[date]:
    if last < first:
        raise InvalidParameter("end_date", "is before start_date")
    if (last - first).days >= MAX_SCHEDULE_DAYS:
        raise InvalidParameter("end_date", f"at most {MAX_SCHEDULE_DAYS} days at once")
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


async def _working(
    session: AsyncSession, staff_id: int, days: list[date]
) -> dict[date, list[tuple[int, int]]]:
    intervals, days_off = await repository.schedule_rows(session, staff_id, days[0], days[-1])
    weekly: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
    dated: dict[date, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
    for row in intervals:
        if row.date is not None:
            target = dated.setdefault(row.date, ([], []))
        elif row.weekday is not None:
            target = weekly.setdefault(row.weekday, ([], []))
        else:
            continue
        target[1 if row.is_break else 0].append((row.start_second, row.end_second))

    def schedule(pair: tuple[list[tuple[int, int]], list[tuple[int, int]]]) -> DaySchedule:
        return DaySchedule(hours=tuple(pair[0]), breaks=tuple(pair[1]))

    week = {weekday: schedule(pair) for weekday, pair in weekly.items()}
    exceptions = {day: schedule(pair) for day, pair in dated.items()}
    off = frozenset(row.date for row in days_off)
    found = {}
    for day in days:
        resolved = resolve_day(day, week, exceptions, off)
        found[day] = resolved.working() if resolved is not None else []
    return found


def _day_view(day: date, working: list[tuple[int, int]]) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "is_working": bool(working),
        "slots": [
            {"from": render.seconds_to_clock(start), "to": render.seconds_to_clock(end)}
            for start, end in working
        ],
    }


async def schedule(  # noqa: PLR0917 - the path's parts
    session: AsyncSession,
    principal: Principal,
    location_id: int,
    staff_id: int,
    first: date,
    last: date,
) -> list[dict[str, Any]]:
    await _member(session, principal, location_id, staff_id)
    days = _span(first, last)
    working = await _working(session, staff_id, days)
    return [_day_view(day, working[day]) for day in days]


def _seconds(value: str, field: str) -> int:
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise InvalidParameter(field, "expected HH:MM")
    seconds = int(hours) * 3600 + int(minutes) * 60
    if int(minutes) >= 60 or seconds > DAY_SECONDS:
        raise InvalidParameter(field, "expected a time of day, 00:00 to 24:00")
    return seconds


async def put_schedule(  # noqa: PLR0917 - the path's parts and the body
    session: AsyncSession,
    principal: Principal,
    location_id: int,
    staff_id: int,
    days: Sequence[ScheduleDayBody],
    span: tuple[date, date] | None,
) -> list[dict[str, Any]]:
    """Days off and changed hours for dates. Refused (409, listing them) when it would leave an
    active booking outside the new hours; availability changes at once in every worker (the
    schedule tables bump the catalog version)."""
    location = await _member(session, principal, location_id, staff_id)
    wanted: dict[date, list[tuple[int, int]]] = {}
    for index, day in enumerate(days):
        if span is not None and not span[0] <= day.date <= span[1]:
            raise InvalidParameter(f"[{index}].date", "outside the dates of the path")
        slots: list[tuple[int, int]] = []
        if day.is_working:
            for number, slot in enumerate(day.slots):
                start = _seconds(slot.from_, f"[{index}].slots[{number}].from")
                end = _seconds(slot.to, f"[{index}].slots[{number}].to")
                if end <= start:
                    raise InvalidParameter(f"[{index}].slots[{number}]", "ends before it starts")
                slots.append((start, end))
            if not slots:
                raise InvalidParameter(f"[{index}].slots", "a working day needs its hours")
        wanted[day.date] = DaySchedule(hours=tuple(slots)).working() if slots else []
    if not wanted:
        raise InvalidParameter("request", "no days given")
    stranded = [
        {"id": record.id, "datetime": render.stamp(record.starts_at, location)}
        for moment, hours in sorted(wanted.items())
        for record in await repository.active_records_of(
            session,
            staff_id,
            _day_start(moment, location),
            _day_start(moment + timedelta(days=1), location),
        )
        if not any(
            _wall(moment, lo, location) <= record.starts_at
            and record.ends_at <= _wall(moment, hi, location)
            for lo, hi in hours
        )
    ]
    if stranded:
        raise StrandedBookings(stranded)
    for moment, hours in sorted(wanted.items()):
        await repository.replace_day(session, staff_id, moment, hours)
    logger.info(
        "business user %s changed %s days of member %s's schedule",
        principal.id,
        len(wanted),
        staff_id,
    )
    found = await _working(session, staff_id, sorted(wanted))
    return [_day_view(day, found[day]) for day in sorted(wanted)]
