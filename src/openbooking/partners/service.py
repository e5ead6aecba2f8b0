"""Partner (integrator) tokens: created and revoked on the CLI, checked on every request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openbooking.kit.auth import new_token, token_digest
from openbooking.kit.db import utcnow
from openbooking.models import PartnerToken
from openbooking.partners import repository

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
    if await repository.by_name(session, name) is not None:
        raise PartnerTokenError(f"a partner token named {name!r} already exists")
    token = new_token()
    session.add(PartnerToken(name=name, token_sha256=token_digest(token)))
    await session.flush()
    return token


async def list_all(session: AsyncSession) -> Sequence[PartnerToken]:
    return await repository.all_tokens(session)


async def revoke(session: AsyncSession, name: str) -> None:
    row = await repository.by_name(session, name)
    if row is None:
        raise PartnerTokenError(f"no partner token named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()


async def find_active(session: AsyncSession, token: str) -> PartnerToken | None:
    return await repository.active_by_digest(session, token_digest(token))


async def delete(session: AsyncSession, name: str) -> None:
    """Forget a token entirely (used when the demo replaces its own lost token)."""
    row = await repository.by_name(session, name)
    if row is not None:
        await session.delete(row)
        await session.flush()
