"""The booking form behind a widget page or public key, and the locations it books."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from openbooking.models import Bookform, Location

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession


async def live_bookform(session: AsyncSession, bookform_id: int) -> Bookform | None:
    return await session.scalar(
        select(Bookform).where(Bookform.id == bookform_id, Bookform.deleted.is_(False))
    )


async def location_ids(session: AsyncSession, form: Bookform) -> Sequence[int]:
    """The live locations a form books: its own, or every location of its chain."""
    query = select(Location.id).where(Location.deleted.is_(False))
    if form.location_id is not None:
        query = query.where(Location.id == form.location_id)
    else:
        query = query.where(Location.chain_id == form.chain_id)
    return (await session.scalars(query)).all()


async def location_of_record_form(session: AsyncSession, location_id: int) -> Bookform | None:
    """A live booking form of the location (its own first, else its chain's), for the manage
    page of a record there."""
    location = await session.scalar(
        select(Location).where(Location.id == location_id, Location.deleted.is_(False))
    )
    if location is None:
        return None
    own = await session.scalar(
        select(Bookform)
        .where(Bookform.location_id == location_id, Bookform.deleted.is_(False))
        .order_by(Bookform.id)
        .limit(1)
    )
    if own is not None or location.chain_id is None:
        return own
    return await session.scalar(
        select(Bookform)
        .where(Bookform.chain_id == location.chain_id, Bookform.deleted.is_(False))
        .order_by(Bookform.id)
        .limit(1)
    )


async def all_live_bookforms(session: AsyncSession) -> Sequence[Bookform]:
    return (
        await session.scalars(
            select(Bookform).where(Bookform.deleted.is_(False)).order_by(Bookform.id)
        )
    ).all()
