"""Partner tokens SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from openbooking.models import PartnerToken

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession


async def by_name(session: AsyncSession, name: str) -> PartnerToken | None:
    return await session.scalar(select(PartnerToken).where(PartnerToken.name == name))


async def all_tokens(session: AsyncSession) -> Sequence[PartnerToken]:
    return (await session.scalars(select(PartnerToken).order_by(PartnerToken.name))).all()


async def active_by_digest(session: AsyncSession, digest: str) -> PartnerToken | None:
    return await session.scalar(
        select(PartnerToken).where(
            PartnerToken.token_sha256 == digest, PartnerToken.revoked_at.is_(None)
        )
    )
