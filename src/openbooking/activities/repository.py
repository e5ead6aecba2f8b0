"""Group-event SQL: sessions with their events, seats taken, and the loader's reconciliation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from openbooking.models import (
    Event,
    EventSession,
    Location,
    Position,
    Record,
    Resource,
    Service,
    ServiceCategory,
    Staff,
)
from openbooking.models.activities import SESSION_ACTIVE
from openbooking.models.records import RECORD_ACTIVE

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class Found:
    """A session with everything the event search shows about it."""

    session: EventSession
    event: Event
    service: Service
    category: ServiceCategory
    staff: Staff
    position: Position | None


# A session with what the search shows about it: its event, service, category, leader, position.
WITH_DETAILS = (
    select(EventSession, Event, Service, ServiceCategory, Staff, Position)
    .join(Event, Event.id == EventSession.event_id)
    .join(Service, Service.id == Event.service_id)
    .join(ServiceCategory, ServiceCategory.id == Service.category_id)
    .join(Staff, Staff.id == EventSession.staff_id)
    .outerjoin(Position, Position.id == Staff.position_id)
)


async def sessions(
    session: AsyncSession,
    location_id: int,
    start: datetime,
    end: datetime | None,
    *,
    service_ids: Sequence[int] = (),
    staff_ids: Sequence[int] = (),
) -> list[Found]:
    """The location's active sessions starting in [start, end) (end None: open), in order."""
    query = WITH_DETAILS.where(
        EventSession.location_id == location_id,
        EventSession.status == SESSION_ACTIVE,
        EventSession.starts_at >= start,
    ).order_by(EventSession.starts_at, EventSession.id)
    if end is not None:
        query = query.where(EventSession.starts_at < end)
    if service_ids:
        query = query.where(Event.service_id.in_(service_ids))
    if staff_ids:
        query = query.where(EventSession.staff_id.in_(staff_ids))
    return [Found(*row) for row in await session.execute(query)]


async def one(
    session: AsyncSession, location_id: int, session_id: int, *, for_update: bool = False
) -> Found | None:
    """One session of the location (any status) with what the search shows about it; locked
    until the transaction ends with `for_update` (so bookers of it wait)."""
    query = WITH_DETAILS.where(
        EventSession.id == session_id, EventSession.location_id == location_id
    )
    if for_update:
        query = query.with_for_update(of=EventSession)
    row = (await session.execute(query)).one_or_none()
    return None if row is None else Found(*row)


async def lowest_event_id(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.min(Event.id))) or 0)


async def api_event_ids(session: AsyncSession, location_id: int) -> list[int]:
    """The events behind sessions made through the B2B API (negative ids, never the file's)."""
    rows = await session.scalars(
        select(Event.id).where(Event.location_id == location_id, Event.id < 0)
    )
    return list(rows)


async def resources(session: AsyncSession, location_id: int) -> dict[int, Resource]:
    rows = await session.scalars(select(Resource).where(Resource.location_id == location_id))
    return {row.id: row for row in rows}


async def seats_taken(session: AsyncSession, session_ids: Sequence[int]) -> dict[int, int]:
    """Seats booked (active records) per session."""
    if not session_ids:
        return {}
    rows = await session.execute(
        select(Record.activity_id, func.sum(Record.clients_count))
        .where(Record.activity_id.in_(session_ids), Record.status == RECORD_ACTIVE)
        .group_by(Record.activity_id)
    )
    return {int(activity_id or 0): int(total or 0) for activity_id, total in rows}


async def session_for_update(
    session: AsyncSession, session_id: int, location_id: int
) -> tuple[EventSession, Event, Service] | None:
    """The session (locked until the transaction ends, so bookers of it queue) with its event
    and service."""
    found = (
        await session.execute(
            select(EventSession, Event, Service)
            .join(Event, Event.id == EventSession.event_id)
            .join(Service, Service.id == Event.service_id)
            .where(EventSession.id == session_id, EventSession.location_id == location_id)
            .with_for_update(of=EventSession)
        )
    ).one_or_none()
    return None if found is None else (found[0], found[1], found[2])


# The business loader's reconciliation.


async def future_sessions(
    session: AsyncSession, location_id: int, now: datetime
) -> Sequence[EventSession]:
    return (
        await session.scalars(
            select(EventSession).where(
                EventSession.location_id == location_id,
                EventSession.starts_at > now,
                EventSession.event_id > 0,  # API-made sessions are not the file's to change
            )
        )
    ).all()


async def events_of(session: AsyncSession, location_id: int) -> Sequence[Event]:
    return (
        await session.scalars(
            select(Event).where(Event.location_id == location_id, Event.deleted.is_(False))
        )
    ).all()


async def locations_with_events(session: AsyncSession) -> Sequence[Location]:
    return (
        await session.scalars(
            select(Location)
            .where(
                Location.deleted.is_(False),
                Location.id.in_(select(Event.location_id).where(Event.deleted.is_(False))),
            )
            .order_by(Location.id)
        )
    ).all()


async def overlapping_record(
    session: AsyncSession, staff_id: int, start: datetime, end: datetime
) -> Record | None:
    """An individual active record of the member overlapping [start, end)."""
    return await session.scalar(
        select(Record)
        .where(
            Record.staff_id == staff_id,
            Record.status == RECORD_ACTIVE,
            Record.activity_id.is_(None),
            Record.starts_at < end,
            Record.ends_at > start,
        )
        .limit(1)
    )


async def add_event(session: AsyncSession, row: Event) -> None:
    session.add(row)
    await session.flush()


async def add_session(session: AsyncSession, row: EventSession) -> None:
    session.add(row)
    await session.flush()


async def move_seats(
    session: AsyncSession, session_id: int, staff_id: int, start: datetime, end: datetime
) -> None:
    """Seats of a session follow it when the file changes its leader or length."""
    await session.execute(
        update(Record)
        .where(Record.activity_id == session_id)
        .values(staff_id=staff_id, starts_at=start, ends_at=end)
    )
