"""Partner (integrator) tokens: created and revoked on the CLI, checked on every request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from openbooking.kit.auth import new_token, token_digest
from openbooking.kit.db import utcnow
from openbooking.models import PartnerToken

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

MAX_NAME_LENGTH = 100


class PartnerTokenError(ValueError):
    """A user mistake on the CLI, reported as one line."""


async def create(session: AsyncSession, name: str) -> str:
    """A new token for `name`; the token itself is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise PartnerTokenError(f"a token name must be 1 to {MAX_NAME_LENGTH} characters")
    if await session.scalar(select(PartnerToken.id).where(PartnerToken.name == name)):
        raise PartnerTokenError(f"a partner token named {name!r} already exists")
    token = new_token()
    session.add(PartnerToken(name=name, token_sha256=token_digest(token)))
    await session.flush()
    return token


async def list_all(session: AsyncSession) -> Sequence[PartnerToken]:
    return (await session.scalars(select(PartnerToken).order_by(PartnerToken.name))).all()


async def revoke(session: AsyncSession, name: str) -> None:
    row = await session.scalar(select(PartnerToken).where(PartnerToken.name == name))
    if row is None:
        raise PartnerTokenError(f"no partner token named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()


async def find_active(session: AsyncSession, token: str) -> PartnerToken | None:
    return await session.scalar(
        select(PartnerToken).where(
            PartnerToken.token_sha256 == token_digest(token), PartnerToken.revoked_at.is_(None)
        )
    )


async def delete(session: AsyncSession, name: str) -> None:
    """Forget a token entirely (used when the demo replaces its own lost token)."""
    row = await session.scalar(select(PartnerToken).where(PartnerToken.name == name))
    if row is not None:
        await session.delete(row)
        await session.flush()
