"""Group events: their sessions over the booking horizon, search, and booking seats.

Sessions are made from the events of the business file (`sync_sessions`, called by the loader
and by `openbooking events extend`): a one-off event is one session, a weekly series one
session per start from today to the location's booking horizon, at the same local wall-clock
time whatever the UTC offset that day. Only sessions that have not started are touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from openbooking.activities import repository
from openbooking.bookings import service as bookings
from openbooking.bookings.rules import EVENT_CLOSED, NO_PLACES, BookingError
from openbooking.catalog import service as catalog
from openbooking.kit.clock import local_instants, zone
from openbooking.kit.clock import now as clock_now
from openbooking.kit.errors import ApiError, InvalidParameter, NotFound
from openbooking.models import Event, EventSession
from openbooking.models.activities import SESSION_ACTIVE, SESSION_CANCELLED

if TYPE_CHECKING:
    from collections.abc import Sequence
    from zoneinfo import ZoneInfo

    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.activities.repository import Found
    from openbooking.activities.schemas import BookBody
    from openbooking.bookings.service import Created
    from openbooking.models import Customer, Location, Resource, Service
    from openbooking.verification.service import Context

logger = logging.getLogger("openbooking.activities")

MAX_RANGE_DAYS = 400  # the widest search (`from` to `till`)
EARLIEST, LATEST = date(1970, 1, 1), date(9000, 12, 31)
# Row ids are 32-bit integers in PostgreSQL; a larger id names nothing (and must not reach it).


class SessionConflict(Exception):
    """The business file asks for a session change the database cannot take; `path` is where."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# Sessions from events ---------------------------------------------------------------------------


def occurrences(
    event: Event, local: ZoneInfo, first: date, last: date
) -> list[tuple[datetime, datetime]]:
    """The event's sessions (start, end in UTC) that start on the local dates first..last (a
    one-off session: from `first` on, however far ahead). A weekly start keeps its wall-clock
    time across clock changes; one that does not exist that day (spring forward) is skipped,
    one that exists twice (fall back) is the first."""
    length = timedelta(seconds=event.length_seconds)
    starts: list[datetime] = []
    if event.at is not None:
        moment = datetime.fromisoformat(event.at)
        if first <= moment.date():  # a one-off exists whatever the horizon
            starts += local_instants(moment, local)[:1]
    if event.weekly is not None:
        day = max(first, event.first_date or first)
        end = min(last, event.last_date or last)
        while day <= end:
            for second in event.weekly.get(str(day.weekday()), []):
                naive = datetime.combine(day, time()) + timedelta(seconds=second)
                starts += local_instants(naive, local)[:1]
            day += timedelta(days=1)
    return [(start, start + length) for start in sorted(starts)]


async def sync_sessions(
    session: AsyncSession,
    location: Location,
    paths: dict[int, str] | None = None,
    *,
    skip_clashes: bool = False,
) -> int:
    """Make the location's sessions that have not started exactly what its events say, up to
    its booking horizon: new ones are added, vanished ones cancelled, changed ones updated
    (their seats follow them). `paths` names each event's place in the business file for
    errors (SessionConflict). With `skip_clashes`, a new session over an appointment is left
    out (and logged) instead; the number left out."""
    paths = paths or {}
    local = zone(location.timezone)
    now = clock_now()
    today = now.astimezone(local).date()
    last = today + timedelta(days=location.horizon_days)
    wanted: dict[tuple[int, datetime], tuple[Event, datetime]] = {}
    for event in await repository.events_of(session, location.id):
        for start, end in occurrences(event, local, today, last):
            if start > now:
                wanted[(event.id, start)] = (event, end)
    existing = {
        (row.event_id, row.starts_at): row
        for row in await repository.future_sessions(session, location.id, now)
    }
    where = f"location {location.id}"
    taken = await repository.seats_taken(session, [row.id for row in existing.values()])
    for key, row in existing.items():
        if key not in wanted and row.status == SESSION_ACTIVE:
            _cancel(row, taken.get(row.id, 0), paths.get(row.event_id, f"{where} events"), local)
    await session.flush()
    skipped = 0
    for (event_id, start), (event, end) in sorted(wanted.items(), key=lambda item: item[0][1]):
        path = paths.get(event_id, f"{where} event {event_id}")
        old = existing.get((event_id, start))
        seats = taken.get(old.id, 0) if old is not None else 0
        if seats > event.capacity:
            raise SessionConflict(
                path,
                f"capacity {event.capacity} is below the {seats} seats booked for the "
                f"session of {_local(start, local)}",
            )
        if old is not None and (old.staff_id, old.ends_at, old.status) == (
            event.staff_id,
            end,
            SESSION_ACTIVE,
        ):
            old.capacity = event.capacity
            continue
        clash = await repository.overlapping_record(session, event.staff_id, start, end)
        if clash is not None and skip_clashes and old is None:
            logger.warning(
                "event %s: no session at %s, an appointment of staff %s is booked then",
                event_id,
                _local(start, local),
                event.staff_id,
            )
            skipped += 1
            continue
        if clash is not None:
            raise SessionConflict(
                path,
                f"the session of {_local(start, local)} overlaps an appointment of staff "
                f"{event.staff_id} booked at {_local(clash.starts_at, local)}",
            )
        if old is None:
            new = EventSession(
                event_id=event_id,
                location_id=location.id,
                staff_id=event.staff_id,
                starts_at=start,
                ends_at=end,
                capacity=event.capacity,
                status=SESSION_ACTIVE,
            )
            await _write(session, new, path)
            continue
        old.staff_id, old.ends_at, old.capacity = event.staff_id, end, event.capacity
        old.status = SESSION_ACTIVE
        await _write(session, old, path)
        if seats:
            await repository.move_seats(session, old.id, event.staff_id, start, end)
    return skipped


def _cancel(row: EventSession, seats: int, path: str, local: ZoneInfo) -> None:
    if seats:
        raise SessionConflict(
            path,
            f"the session of {_local(row.starts_at, local)} has {seats} booked seat(s): keep "
            "it in the file until they are cancelled",
        )
    row.status = SESSION_CANCELLED


async def _write(session: AsyncSession, row: EventSession, path: str) -> None:
    try:
        async with session.begin_nested():
            await repository.add_session(session, row)
    except IntegrityError:
        raise SessionConflict(
            path, "a session overlaps an appointment or another session of its leader"
        ) from None


def _local(moment: datetime, local: ZoneInfo) -> str:
    return f"{moment.astimezone(local):%Y-%m-%d %H:%M}"


async def extend(session: AsyncSession) -> tuple[int, int]:
    """`openbooking events extend` (daily, from cron): every location's sessions up to its
    horizon as it stands today; a new session over an appointment booked meanwhile is left
    out. The number of locations, and of sessions left out."""
    locations = await repository.locations_with_events(session)
    skipped = 0
    for location in locations:
        skipped += await sync_sessions(session, location, skip_clashes=True)
    return len(locations), skipped


# Search -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    service_ids: Sequence[int] = ()
    staff_ids: Sequence[int] = ()
    resource_ids: Sequence[int] = ()


@dataclass(frozen=True, slots=True)
class Listed:
    found: Found
    seats_taken: int
    resources: list[Resource]


async def _location(session: AsyncSession, location_id: int) -> Location:
    return await catalog.location(session, location_id)


def _bounds(local: ZoneInfo, first: date, last: date) -> tuple[datetime, datetime]:
    for name, day in (("from", first), ("till", last)):
        if not EARLIEST <= day <= LATEST:
            raise InvalidParameter(name, f"a date from {EARLIEST} to {LATEST}")
    if last < first:
        raise InvalidParameter("till", "is before `from`")
    if (last - first).days > MAX_RANGE_DAYS:
        raise InvalidParameter("till", f"at most {MAX_RANGE_DAYS} days after `from`")
    start = local_instants(datetime.combine(first, time()), local)
    end = local_instants(datetime.combine(last + timedelta(days=1), time()), local)
    # Midnight exists in every zone but a few that skip it; those start an hour later.
    fallback = datetime.combine(first, time(1))
    return (
        start[0] if start else local_instants(fallback, local)[0],
        end[0] if end else datetime.combine(last + timedelta(days=1), time(1), UTC),
    )


async def _find(
    session: AsyncSession,
    location: Location,
    filters: Filters,
    start: datetime,
    end: datetime | None,
) -> list[Found]:
    service_ids, staff_ids = filters.service_ids, filters.staff_ids
    found = await repository.sessions(
        session, location.id, start, end, service_ids=service_ids, staff_ids=staff_ids
    )
    if filters.resource_ids:
        wanted = set(filters.resource_ids)
        found = [item for item in found if wanted & set(item.event.resource_ids)]
    return found


async def search(
    session: AsyncSession,
    location_id: int,
    first: date,
    last: date,
    filters: Filters,
    *,
    page: int,
    count: int,
) -> tuple[Location, list[Listed], int]:
    """GET /activity/{id}/search: a page of the sessions on the local dates, and their total."""
    location = await _location(session, location_id)
    start, end = _bounds(zone(location.timezone), first, last)
    found = await _find(session, location, filters, start, end)
    shown = found[(page - 1) * count : page * count]
    taken = await repository.seats_taken(session, [item.session.id for item in shown])
    resources = await repository.resources(session, location_id) if shown else {}
    listed = [
        Listed(
            item,
            taken.get(item.session.id, 0),
            [resources[r] for r in item.event.resource_ids if r in resources],
        )
        for item in shown
    ]
    return location, listed, len(found)


async def search_dates(
    session: AsyncSession, location_id: int, first: date, last: date, filters: Filters
) -> list[str]:
    """GET /activity/{id}/search_dates: the local dates that have sessions."""
    location = await _location(session, location_id)
    local = zone(location.timezone)
    start, end = _bounds(local, first, last)
    found = await _find(session, location, filters, start, end)
    return sorted({f"{item.session.starts_at.astimezone(local):%Y-%m-%d}" for item in found})


async def search_dates_range(
    session: AsyncSession, location_id: int, filters: Filters
) -> dict[str, str | None]:
    """GET /activity/{id}/search_dates_range: the first and last local dates with sessions
    from today on (null when there are none)."""
    location = await _location(session, location_id)
    local = zone(location.timezone)
    today = clock_now().astimezone(local).date()
    start, _ = _bounds(local, today, today)
    found = await _find(session, location, filters, start, None)
    dates = [f"{item.session.starts_at.astimezone(local):%Y-%m-%d}" for item in found]
    return {"min_date": min(dates, default=None), "max_date": max(dates, default=None)}


@dataclass(frozen=True, slots=True)
class Facet:
    code: str
    title: str
    items: list[tuple[int, str, int]]  # id, title, sessions matching the other filters


async def filters(
    session: AsyncSession,
    location_id: int,
    first: date | None,
    last: date | None,
    chosen: Filters,
) -> list[Facet]:
    """GET /activity/{id}/filters: the services, their categories, the staff and resources that
    have sessions in the range (default: from today on), each with the number of sessions that
    also match the filters chosen in the other facets (0: disabled)."""
    location = await _location(session, location_id)
    local = zone(location.timezone)
    today = clock_now().astimezone(local).date()
    start, end = _bounds(local, first or today, last or first or today)
    found = await _find(session, location, Filters(), start, end if last else None)
    resources = await repository.resources(session, location_id) if found else {}

    def matches(item: Found, skip: str) -> bool:
        return (
            (skip == "service" or not chosen.service_ids or item.service.id in chosen.service_ids)
            and (skip == "staff" or not chosen.staff_ids or item.staff.id in chosen.staff_ids)
            and (
                skip == "resource"
                or not chosen.resource_ids
                or bool(set(chosen.resource_ids) & set(item.event.resource_ids))
            )
        )

    facets: dict[str, dict[int, list[Any]]] = {
        "service": {},
        "service_category": {},
        "staff": {},
        "resource": {},
    }
    for item in found:
        keys: dict[str, list[tuple[int, str]]] = {
            "service": [(item.service.id, item.service.title)],
            "service_category": [(item.category.id, item.category.title)],
            "staff": [(item.staff.id, item.staff.name)],
            "resource": [
                (r, resources[r].title) for r in item.event.resource_ids if r in resources
            ],
        }
        for code, entries in keys.items():
            hit = matches(item, "service" if code == "service_category" else code)
            for entity_id, title in entries:
                entry = facets[code].setdefault(entity_id, [title, 0])
                entry[1] += int(hit)
    titles = {
        "service": "Services",
        "service_category": "Service categories",
        "staff": "Team members",
        "resource": "Resources",
    }
    return [
        Facet(code, titles[code], [(i, title, n) for i, (title, n) in sorted(items.items())])
        for code, items in facets.items()
    ]


# Booking ----------------------------------------------------------------------------------------


async def book(
    session: AsyncSession,
    ctx: Context,
    location_id: int,
    session_id: int,
    body: BookBody,
    *,
    customer: Customer | None,
) -> Created:
    """POST /activity/{id}/{event_id}/book: `clients_count` seats of one session, or none. The
    session row is locked first, so concurrent bookers of it count seats one after another."""
    location = await _location(session, location_id)
    found = await repository.session_for_update(session, session_id, location_id)
    if found is None:
        raise NotFound("No such event.")
    row, event, service = found
    if row.status != SESSION_ACTIVE or row.starts_at <= clock_now():
        raise BookingError(EVENT_CLOSED)
    seats = body.seats
    taken = (await repository.seats_taken(session, [row.id])).get(row.id, 0)
    if taken + seats > row.capacity:
        left = row.capacity - taken
        raise BookingError(NO_PLACES, detail=f"No places left ({left} of {row.capacity} free).")
    seat = bookings.Seat(
        activity_id=row.id,
        staff_id=row.staff_id,
        start=row.starts_at,
        end=row.ends_at,
        service=service,
        cost=event.price_min,
        seats=seats,
    )
    created = await bookings.book_seats(session, ctx, location, body, customer=customer, seat=seat)
    logger.info("booked %s seat(s) of session %s at location %s", seats, row.id, location.id)
    return created


# Sessions made through the B2B API --------------------------------------------------------------
# Such a session has an event of its own with a negative id (the file's ids are positive), no
# `at` and no `weekly`: the loader neither deletes that event nor touches its sessions, so
# reloading the business file keeps them (docs/activities.md).


OWN_EVENT_ATTEMPTS = 5


class SessionClash(ApiError):
    status_code = 409
    default_message = "The session overlaps an appointment or another session of its leader."


class FileSession(ApiError):
    status_code = 409
    default_message = (
        "The session is one of the business file's events: change it there and reload the file."
    )


class SessionHasSeats(ApiError):
    status_code = 409
    default_message = "The session has booked seats; cancel them first."


@dataclass(frozen=True, slots=True)
class Plan:
    """What a B2B call asks a session to be."""

    service: Service
    staff_id: int
    start: datetime
    length: int
    capacity: int
    resource_ids: list[int]


async def one(
    session: AsyncSession, location: Location, session_id: int, *, for_update: bool = False
) -> Listed:
    """An active session of the location, with its seats taken (404 otherwise)."""
    found = await repository.one(session, location.id, session_id, for_update=for_update)
    if found is None or found.session.status != SESSION_ACTIVE:
        raise NotFound("No such event.")
    taken = (await repository.seats_taken(session, [session_id])).get(session_id, 0)
    resources = await repository.resources(session, location.id)
    return Listed(found, taken, [resources[r] for r in found.event.resource_ids if r in resources])


async def create_session(session: AsyncSession, location: Location, plan: Plan) -> int:
    """A one-off session that no event of the file makes; its id."""
    event = await _own_event(session, location, plan)
    row = EventSession(
        event_id=event.id,
        location_id=location.id,
        staff_id=plan.staff_id,
        starts_at=plan.start,
        ends_at=plan.start + timedelta(seconds=plan.length),
        capacity=plan.capacity,
        status=SESSION_ACTIVE,
    )
    await _store(session, row)
    return row.id


async def _own_event(session: AsyncSession, location: Location, plan: Plan) -> Event:
    """The event behind an API-made session: the next negative id. Two creators that pick the
    same id at once: the second waits for the first and takes the next one."""
    for _ in range(OWN_EVENT_ATTEMPTS):
        event = Event(
            id=min(await repository.lowest_event_id(session), 0) - 1,
            location_id=location.id,
            service_id=plan.service.id,
            staff_id=plan.staff_id,
            resource_ids=plan.resource_ids,
            capacity=plan.capacity,
            length_seconds=plan.length,
            price_min=plan.service.price_min,
            price_max=plan.service.price_max,
        )
        try:
            async with session.begin_nested():
                await repository.add_event(session, event)
        except IntegrityError:
            continue
        return event
    raise SessionClash("Too many sessions made at once; try again.")


async def update_session(session: AsyncSession, listed: Listed, plan: Plan) -> None:
    """Move, lengthen, change leader, service or capacity (never below the seats booked); the
    seats follow the session."""
    row, event = listed.found.session, listed.found.event
    own_only(listed)
    _not_started(row)
    if plan.capacity < listed.seats_taken:
        raise InvalidParameter(
            "capacity", f"below the {listed.seats_taken} seat(s) booked for the session"
        )
    event.service_id, event.resource_ids = plan.service.id, plan.resource_ids
    event.staff_id, event.capacity = plan.staff_id, plan.capacity
    event.length_seconds = plan.length
    row.staff_id, row.starts_at = plan.staff_id, plan.start
    row.ends_at, row.capacity = plan.start + timedelta(seconds=plan.length), plan.capacity
    await _store(session, row)
    if listed.seats_taken:
        await repository.move_seats(session, row.id, row.staff_id, row.starts_at, row.ends_at)


async def delete_session(session: AsyncSession, listed: Listed) -> None:
    """Cancel an empty session; one with booked seats is refused with their number."""
    own_only(listed)
    _not_started(listed.found.session)
    if listed.seats_taken:
        raise SessionHasSeats(
            f"The session has {listed.seats_taken} booked seat(s); cancel them first.",
            errors=[{"code": 409, "field": "records_count", "message": str(listed.seats_taken)}],
        )
    listed.found.session.status = SESSION_CANCELLED
    await session.flush()


def own_only(listed: Listed) -> None:
    """Only API-made sessions change through the API: a reload would undo a change to one of
    the file's (docs/activities.md)."""
    if listed.found.event.id > 0:
        raise FileSession


def _not_started(row: EventSession) -> None:
    if row.starts_at <= clock_now():
        raise InvalidParameter("activity_id", "the session has started")


async def resource_ids(session: AsyncSession, location_id: int) -> set[int]:
    return {
        r.id for r in (await repository.resources(session, location_id)).values() if not r.deleted
    }


async def _store(session: AsyncSession, row: EventSession) -> None:
    try:
        async with session.begin_nested():
            await repository.add_session(session, row)
    except IntegrityError:
        raise SessionClash from None


async def api_event_ids(session: AsyncSession, location_id: int) -> list[int]:
    """The events behind API-made sessions, which a reload of the business file keeps."""
    return await repository.api_event_ids(session, location_id)
