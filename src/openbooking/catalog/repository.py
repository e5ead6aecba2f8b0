"""Catalog reads. Soft-deleted rows are invisible here."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, func, select, update

from openbooking.kit import fastread
from openbooking.kit.errors import NotFound
from openbooking.models import (
    Base,
    Bookform,
    CatalogVersion,
    Chain,
    DayOff,
    Location,
    Position,
    ScheduleInterval,
    Service,
    ServiceCategory,
    Staff,
    StaffService,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy.ext.asyncio import AsyncSession


async def get_bookform(session: AsyncSession, bookform_id: int) -> Bookform | None:
    return await session.scalar(
        select(Bookform).where(Bookform.id == bookform_id, Bookform.deleted.is_(False))
    )


# Built once: every booking and most reads ask for their location first.
LOCATION = select(Location).where(
    Location.id == bindparam("location_id"), Location.deleted.is_(False)
)


async def get_location(session: AsyncSession, location_id: int) -> Location | None:
    return await session.scalar(LOCATION, {"location_id": location_id})


async def location_or_404(session: AsyncSession, location_id: int) -> Location:
    location = await get_location(session, location_id)
    if location is None:
        raise NotFound("Location not found.")
    return location


_VERSION = fastread.Statement(select(CatalogVersion.version).where(CatalogVersion.id == 1))


async def catalog_version(session: AsyncSession) -> int | None:
    """The catalog version (None when its row is missing); on a SQLite file, read without
    beginning the session's transaction (`kit.fastread`)."""
    found, decoders = await fastread.rows(session, _VERSION, {})
    return int(decoders[0](found[0][0])) if found else None


async def get_chain(session: AsyncSession, chain_id: int) -> Chain | None:
    return await session.scalar(select(Chain).where(Chain.id == chain_id, Chain.deleted.is_(False)))


async def first_location_of_chain(session: AsyncSession, chain_id: int) -> Location | None:
    return await session.scalar(
        select(Location)
        .where(Location.chain_id == chain_id, Location.deleted.is_(False))
        .order_by(Location.group_priority.desc(), Location.id)
        .limit(1)
    )


async def list_locations(
    session: AsyncSession,
    *,
    location_id: int | None,
    chain_id: int | None,
    active_only: bool,
    title: str | None,
    offset: int,
    limit: int,
    only: Sequence[int] | None = None,
) -> Sequence[Location]:
    query = select(Location).where(Location.deleted.is_(False))
    if only is not None:
        query = query.where(Location.id.in_(only))
    if location_id is not None:
        query = query.where(Location.id == location_id)
    if chain_id is not None:
        query = query.where(Location.chain_id == chain_id)
    if active_only:
        query = query.where(Location.active.is_(True))
    if title:
        query = query.where(func.lower(Location.title).contains(title.lower(), autoescape=True))
    query = query.order_by(Location.group_priority.desc(), Location.id).offset(offset).limit(limit)
    return (await session.scalars(query)).all()


async def active_staff_counts(session: AsyncSession, location_ids: Sequence[int]) -> dict[int, int]:
    if not location_ids:
        return {}
    rows = await session.execute(
        select(Staff.location_id, func.count())
        .where(
            Staff.location_id.in_(location_ids),
            Staff.deleted.is_(False),
            Staff.bookable.is_(True),
        )
        .group_by(Staff.location_id)
    )
    return {row[0]: row[1] for row in rows}


async def bookforms_of_location(session: AsyncSession, location: Location) -> Sequence[Bookform]:
    owners = Bookform.location_id == location.id
    if location.chain_id is not None:
        owners = owners | (Bookform.chain_id == location.chain_id)
    return (
        await session.scalars(
            select(Bookform).where(owners, Bookform.deleted.is_(False)).order_by(Bookform.id)
        )
    ).all()


async def categories(session: AsyncSession, location_id: int) -> Sequence[ServiceCategory]:
    return (
        await session.scalars(
            select(ServiceCategory)
            .where(ServiceCategory.location_id == location_id, ServiceCategory.deleted.is_(False))
            .order_by(ServiceCategory.weight.desc(), ServiceCategory.id)
        )
    ).all()


async def services(session: AsyncSession, location_id: int) -> Sequence[Service]:
    return (
        await session.scalars(
            select(Service)
            .where(
                Service.location_id == location_id,
                Service.deleted.is_(False),
                Service.active.is_(True),
            )
            .order_by(Service.weight.desc(), Service.id)
        )
    ).all()


async def services_of_staff(
    session: AsyncSession, location_id: int, staff_id: int
) -> Sequence[tuple[Service, StaffService]]:
    rows = await session.execute(
        select(Service, StaffService)
        .join(StaffService, StaffService.service_id == Service.id)
        .where(
            StaffService.staff_id == staff_id,
            Service.location_id == location_id,
            Service.deleted.is_(False),
            Service.active.is_(True),
        )
        .order_by(Service.weight.desc(), Service.id)
    )
    return [(service, link) for service, link in rows]


async def get_staff(session: AsyncSession, location_id: int, staff_id: int) -> Staff | None:
    return await session.scalar(
        select(Staff).where(
            Staff.id == staff_id, Staff.location_id == location_id, Staff.deleted.is_(False)
        )
    )


async def all_staff(session: AsyncSession, location_id: int) -> Sequence[Staff]:
    """Every member of the location, deleted ones too."""
    return (await session.scalars(select(Staff).where(Staff.location_id == location_id))).all()


async def positions(session: AsyncSession, location_id: int) -> dict[int, Position]:
    rows = await session.scalars(
        select(Position).where(Position.location_id == location_id, Position.deleted.is_(False))
    )
    return {position.id: position for position in rows}


async def country_codes(session: AsyncSession) -> set[str]:
    """The countries of all locations: the regions in which national phone formats are read."""
    rows = await session.scalars(
        select(Location.country_code).where(Location.deleted.is_(False)).distinct()
    )
    return {code for code in rows if code}


# ---------------------------------------------------------------------------------------------
# Writes: the business-file loader applies a checked file through these. The caller commits.
# ---------------------------------------------------------------------------------------------


class OwnedElsewhere(Exception):
    """The id is taken by a row of another owner (another location, or another chain)."""

    def __init__(self, owner: str, owner_id: int | None) -> None:
        self.owner = owner
        self.owner_id = owner_id
        super().__init__(f"id already belongs to another {owner} ({owner_id})")


@dataclass(frozen=True)
class StaffServiceFields:
    """A member's own duration and prices for one service; None = the service's."""

    duration_seconds: int | None = None
    price_min: float | None = None
    price_max: float | None = None


@dataclass(frozen=True)
class IntervalKey:
    """One schedule row: a weekday (0 = Monday) or a date, seconds from local midnight."""

    weekday: int | None
    date: date | None
    start_second: int
    end_second: int
    is_break: bool


async def upsert(
    session: AsyncSession,
    model: type[Base],
    entity_id: int,
    fields: dict[str, Any],
    *,
    owner: tuple[str, int | None] | None,
) -> None:
    """Insert or update `model(id=entity_id)` (reviving it if soft-deleted), writing only what
    changed. `owner` is (column, value): a row whose column differs raises OwnedElsewhere."""
    row = await session.get(model, entity_id)
    if row is None:
        session.add(model(id=entity_id, **fields))
        return
    if owner is not None and getattr(row, owner[0]) != owner[1]:
        raise OwnedElsewhere(owner[0].removesuffix("_id"), getattr(row, owner[0]))
    for name, value in {**fields, "deleted": False}.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


async def soft_delete_missing(
    session: AsyncSession, model: type[Base], owner: tuple[str, int], keep: Sequence[int]
) -> None:
    """Soft-delete the rows of `owner` (column, value) whose ids are not in `keep`."""
    table: Any = model
    await session.execute(
        update(table)
        .where(
            getattr(table, owner[0]) == owner[1],
            table.id.not_in(keep),
            table.deleted.is_(False),
        )
        .values(deleted=True)
    )


async def sync_staff_services(
    session: AsyncSession, staff_id: int, wanted: Mapping[int, StaffServiceFields]
) -> None:
    """Make the member's service links exactly `wanted` (service id -> overrides)."""
    existing = {
        row.service_id: row
        for row in await session.scalars(
            select(StaffService).where(StaffService.staff_id == staff_id)
        )
    }
    for service_id, row in existing.items():
        if service_id not in wanted:
            await session.delete(row)
    for service_id, fields in wanted.items():
        values = asdict(fields)
        link = existing.get(service_id)
        if link is None:
            session.add(StaffService(staff_id=staff_id, service_id=service_id, **values))
            continue
        for name, value in values.items():
            if getattr(link, name) != value:
                setattr(link, name, value)


async def sync_schedule(
    session: AsyncSession, staff_id: int, intervals: set[IntervalKey], days_off: set[date]
) -> None:
    """Make the member's schedule rows and days off exactly `intervals` and `days_off`."""
    existing = {
        IntervalKey(row.weekday, row.date, row.start_second, row.end_second, row.is_break): row
        for row in await session.scalars(
            select(ScheduleInterval).where(ScheduleInterval.staff_id == staff_id)
        )
    }
    for key, row in existing.items():
        if key not in intervals:
            await session.delete(row)
    session.add_all(
        ScheduleInterval(staff_id=staff_id, **asdict(key))
        for key in sorted(intervals - existing.keys(), key=_interval_order)
    )
    current = set(
        (await session.scalars(select(DayOff.date).where(DayOff.staff_id == staff_id))).all()
    )
    if current - days_off:
        await session.execute(
            delete(DayOff).where(DayOff.staff_id == staff_id, DayOff.date.in_(current - days_off))
        )
    session.add_all(DayOff(staff_id=staff_id, date=day) for day in sorted(days_off - current))


def _interval_order(key: IntervalKey) -> tuple[int, date, int, int, bool]:
    return (
        -1 if key.weekday is None else key.weekday,
        key.date or date.min,
        key.start_second,
        key.end_second,
        key.is_break,
    )
