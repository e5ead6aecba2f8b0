"""The admin page's SQL: its own partner row, and the lifetime of a session's user token."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update

from openbooking.models import PartnerToken
from openbooking.models.business_users import BusinessToken

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession


async def ensure_partner(session: AsyncSession, name: str, digest: str) -> None:
    """The partner row the page's requests count as; a changed server secret moves its digest.
    A row the operator revoked stays revoked (the page then stops working, on purpose)."""
    row = await session.scalar(select(PartnerToken).where(PartnerToken.name == name))
    if row is None:
        session.add(PartnerToken(name=name, token_sha256=digest))
    elif row.token_sha256 != digest:
        row.token_sha256 = digest
    await session.flush()


async def shorten_token(session: AsyncSession, digest: str, expires_at: datetime) -> None:
    await session.execute(
        update(BusinessToken)
        .where(BusinessToken.token_sha256 == digest, BusinessToken.expires_at > expires_at)
        .values(expires_at=expires_at)
    )


async def live_token(session: AsyncSession, digest: str, now: datetime) -> BusinessToken | None:
    return await session.scalar(
        select(BusinessToken).where(
            BusinessToken.token_sha256 == digest,
            BusinessToken.revoked_at.is_(None),
            BusinessToken.expires_at > now,
        )
    )


async def extend_token(
    session: AsyncSession, digest: str, now: datetime, expires_at: datetime
) -> None:
    """Move a live token's end to `expires_at` (a token that has ended stays ended)."""
    await session.execute(
        update(BusinessToken)
        .where(
            BusinessToken.token_sha256 == digest,
            BusinessToken.revoked_at.is_(None),
            BusinessToken.expires_at > now,
        )
        .values(expires_at=expires_at)
    )


async def revoke_token(session: AsyncSession, digest: str, at: datetime) -> None:
    await session.execute(
        update(BusinessToken)
        .where(BusinessToken.token_sha256 == digest, BusinessToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
