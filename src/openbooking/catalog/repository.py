"""Catalog reads. Soft-deleted rows are invisible here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from openbooking.kit.errors import NotFound
from openbooking.models import (
    Bookform,
    Chain,
    Location,
    Position,
    Service,
    ServiceCategory,
    Staff,
    StaffService,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession


async def get_bookform(session: AsyncSession, bookform_id: int) -> Bookform | None:
    return await session.scalar(
        select(Bookform).where(Bookform.id == bookform_id, Bookform.deleted.is_(False))
    )


async def get_location(session: AsyncSession, location_id: int) -> Location | None:
    return await session.scalar(
        select(Location).where(Location.id == location_id, Location.deleted.is_(False))
    )


async def location_or_404(session: AsyncSession, location_id: int) -> Location:
    location = await get_location(session, location_id)
    if location is None:
        raise NotFound("Location not found.")
    return location


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
) -> Sequence[Location]:
    query = select(Location).where(Location.deleted.is_(False))
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
