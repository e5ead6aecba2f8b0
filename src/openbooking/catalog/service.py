"""Catalog rules: what each read endpoint returns, independent of HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openbooking.catalog import cache, render, repository
from openbooking.kit.errors import NotFound

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from openbooking.kit.envelope import Dialect
    from openbooking.models import Location

location = repository.location_or_404
first_location_of_chain = repository.first_location_of_chain
country_codes = repository.country_codes


async def booking_rows(session: AsyncSession, location_id: int) -> cache.Rows:
    """The location (404 when there is none) with its active services and its members, as a
    booking reads them: from the process's cache while the catalog version is the one they
    were read at (one small read, on SQLite outside a transaction), else read anew (and kept)."""
    version = await repository.catalog_version(session)
    kept = cache.of(session) if version is not None else None
    found = kept.get(location_id, version) if kept is not None and version is not None else None
    if found is None:
        location = await repository.location_or_404(session, location_id)
        found = cache.Rows(
            version,
            location,
            await repository.services(session, location_id),
            await repository.all_staff(session, location_id),
        )
        if kept is not None:
            kept.put(location_id, found)
    return found


def kept_booking_rows(session: AsyncSession, location_id: int) -> cache.Rows | None:
    """The location's rows as this process last read them for a booking, without reading the
    catalog version: the caller trusts them only once a version it reads later (with the busy
    time, `Availability.version`) is theirs."""
    kept = cache.of(session)
    return kept.latest(location_id) if kept is not None else None


# The catalog's writes, as the business file loader (business/loader.py) makes them: rows by
# the file's ids, refusing ids owned elsewhere, soft-deleting what vanished.
upsert = repository.upsert
soft_delete_missing = repository.soft_delete_missing
sync_staff_services = repository.sync_staff_services
sync_schedule = repository.sync_schedule
OwnedElsewhere = repository.OwnedElsewhere
IntervalKey = repository.IntervalKey
StaffServiceFields = repository.StaffServiceFields


async def shows_position(session: AsyncSession, location: Location) -> bool:
    """Whether team members are presented by their position rather than their own
    specialization: the display mode of the location's first booking form."""
    forms = await repository.bookforms_of_location(session, location)
    return bool(forms) and forms[0].specialization_display_mode == 1


async def bookform(session: AsyncSession, bookform_id: int, dialect: Dialect) -> dict[str, Any]:
    form = await repository.get_bookform(session, bookform_id)
    if form is None:
        raise NotFound("Booking form not found.")
    if form.location_id is not None:
        location = await repository.get_location(session, form.location_id)
        chain_id = location.chain_id if location else None
    else:
        chain_id = form.chain_id
        location = await repository.first_location_of_chain(session, chain_id) if chain_id else None
    chain = await repository.get_chain(session, chain_id) if chain_id is not None else None
    return render.bookform(form, location, chain, dialect)


async def privacy_policy(session: AsyncSession, location_id: int) -> dict[str, Any]:
    location = await repository.location_or_404(session, location_id)
    return {"agreement": {"content": location.privacy_policy}}


async def companies(
    session: AsyncSession,
    dialect: Dialect,
    *,
    location_id: int | None,
    chain_id: int | None,
    active_only: bool,
    title: str | None,
    page: int,
    count: int,
    only: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """The locations; with `only`, just those (a business user's own)."""
    locations = await repository.list_locations(
        session,
        location_id=location_id,
        chain_id=chain_id,
        active_only=active_only,
        title=title,
        offset=(page - 1) * count,
        limit=count,
        only=only,
    )
    counts = await repository.active_staff_counts(session, [loc.id for loc in locations])
    return [render.location_summary(loc, counts.get(loc.id, 0), dialect) for loc in locations]


async def company(session: AsyncSession, location_id: int, dialect: Dialect) -> dict[str, Any]:
    location = await repository.location_or_404(session, location_id)
    chain = await repository.get_chain(session, location.chain_id) if location.chain_id else None
    counts = await repository.active_staff_counts(session, [location.id])
    forms = await repository.bookforms_of_location(session, location)
    return render.location_detail(location, chain, counts.get(location.id, 0), forms, dialect)


async def services(session: AsyncSession, location_id: int, staff_id: int) -> list[dict[str, Any]]:
    """A location's services; with `staff_id` that member's, at their length and price."""
    await repository.location_or_404(session, location_id)
    if staff_id:
        if await repository.get_staff(session, location_id, staff_id) is None:
            raise NotFound("Team member not found.")
        pairs = await repository.services_of_staff(session, location_id, staff_id)
        return [render.service(row, link) for row, link in pairs]
    return [render.service(row, None) for row in await repository.services(session, location_id)]


async def book_services(
    session: AsyncSession, location_id: int, offered: list[dict[str, Any]]
) -> dict[str, Any]:
    """`book_services`' answer for the `offered` services (from `services`, maybe filtered):
    them, and the categories they use."""
    used = {item["category_id"] for item in offered}
    categories = [
        render.category(row)
        for row in await repository.categories(session, location_id)
        if row.id in used
    ]
    return {"events": [], "services": offered, "category": categories}
