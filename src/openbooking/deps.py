"""Request dependencies shared by every domain: session, dialect, partner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from openbooking.config import Settings
from openbooking.kit.auth import parse_authorization
from openbooking.kit.envelope import Dialect, dialect_from_accept
from openbooking.kit.errors import Unauthorized
from openbooking.models import PartnerToken
from openbooking.partners import service as partners


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


def get_dialect(request: Request) -> Dialect:
    default = Dialect(get_settings(request).default_dialect)
    return dialect_from_accept(request.headers.get("accept"), default)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
DialectDep = Annotated[Dialect, Depends(get_dialect)]


async def require_partner(request: Request, session: SessionDep) -> PartnerToken:
    credentials = parse_authorization(request.headers.get("authorization"))
    if credentials is None:
        raise Unauthorized
    partner = await partners.find_active(session, credentials.partner_token)
    if partner is None:
        raise Unauthorized
    return partner


PartnerDep = Annotated[PartnerToken, Depends(require_partner)]
